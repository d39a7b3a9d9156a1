# touchline_proto_library(NAME <target> PROTOS <files...> [IMPORT_DIRS <dirs...>] [DEPS <targets...>] [GRPC])
#
# Runs protoc (and grpc_cpp_plugin with GRPC) on the .proto files into build/gen/, keeping
# each file's path relative to the import dir it lies under, and builds the result into a
# static library whose headers are included as SYSTEM headers (no warnings from generated
# code). CMake's own protobuf_generate() is not used: in CMake 3.25 it derives output paths
# from the current source dir, which breaks for protos that live outside it (Debian's).
function(touchline_proto_library)
  cmake_parse_arguments(ARG "GRPC" "NAME" "PROTOS;IMPORT_DIRS;DEPS" ${ARGN})
  set(out ${CMAKE_BINARY_DIR}/gen)
  file(MAKE_DIRECTORY ${out})
  set(dirs ${ARG_IMPORT_DIRS} ${TOUCHLINE_PROTO_IMPORT_DIRS})
  set(include_flags)
  foreach(dir ${dirs})
    list(APPEND include_flags -I${dir})
  endforeach()
  set(srcs)
  foreach(proto ${ARG_PROTOS})
    get_filename_component(abs ${proto} ABSOLUTE)
    set(rel)
    foreach(dir ${dirs})
      string(FIND ${abs} "${dir}/" pos)
      if(pos EQUAL 0 AND NOT rel)
        file(RELATIVE_PATH rel ${dir} ${abs})
      endif()
    endforeach()
    if(NOT rel)
      message(FATAL_ERROR "${proto} is under none of the import dirs: ${dirs}")
    endif()
    string(REGEX REPLACE "\\.proto$" "" stem ${rel})
    set(outputs ${out}/${stem}.pb.cc ${out}/${stem}.pb.h)
    set(plugin_args)
    if(ARG_GRPC)
      list(APPEND outputs ${out}/${stem}.grpc.pb.cc ${out}/${stem}.grpc.pb.h)
      set(plugin_args --grpc_out=${out}
          --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>)
    endif()
    add_custom_command(OUTPUT ${outputs}
      COMMAND protobuf::protoc --cpp_out=${out} ${plugin_args} ${include_flags} ${abs}
      DEPENDS ${abs} protobuf::protoc
      COMMENT "protoc ${rel}" VERBATIM)
    list(APPEND srcs ${outputs})
  endforeach()
  add_library(${ARG_NAME} STATIC ${srcs})
  target_include_directories(${ARG_NAME} SYSTEM PUBLIC ${out})
  target_link_libraries(${ARG_NAME} PUBLIC protobuf::libprotobuf ${ARG_DEPS})
  if(ARG_GRPC)
    target_link_libraries(${ARG_NAME} PUBLIC gRPC::grpc++)
  endif()
endfunction()
