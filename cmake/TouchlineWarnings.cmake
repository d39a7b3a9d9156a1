# Our own code builds with all warnings as errors; generated code does not come through here.
function(touchline_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
endfunction()
