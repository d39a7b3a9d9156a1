# touchline_proto_library(NAME <target> PROTOS <files...> [IMPORT_DIRS <dirs...>] [DEPS <targets...>] [GRPC])
#
# Generates C++ (and gRPC stubs with GRPC) for the .proto files, relative to the first import
# dir, into a static library whose generated headers are included as SYSTEM headers.
function(touchline_proto_library)
  cmake_parse_arguments(ARG "GRPC" "NAME" "PROTOS;IMPORT_DIRS;DEPS" ${ARGN})
  set(out ${CMAKE_BINARY_DIR}/gen)
  file(MAKE_DIRECTORY ${out})
  add_library(${ARG_NAME} STATIC ${ARG_PROTOS})
  set(dirs ${ARG_IMPORT_DIRS} ${TOUCHLINE_PROTO_IMPORT_DIRS})
  protobuf_generate(TARGET ${ARG_NAME} LANGUAGE cpp PROTOC_OUT_DIR ${out} IMPORT_DIRS ${dirs})
  if(ARG_GRPC)
    protobuf_generate(TARGET ${ARG_NAME} LANGUAGE grpc GENERATE_EXTENSIONS .grpc.pb.h .grpc.pb.cc
      PLUGIN protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin> PROTOC_OUT_DIR ${out}
      IMPORT_DIRS ${dirs})
    target_link_libraries(${ARG_NAME} PUBLIC gRPC::grpc++)
  endif()
  target_include_directories(${ARG_NAME} SYSTEM PUBLIC ${out})
  target_link_libraries(${ARG_NAME} PUBLIC protobuf::libprotobuf ${ARG_DEPS})
  set_target_properties(${ARG_NAME} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()
