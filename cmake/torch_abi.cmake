# kd_check_torch_abi(TORCH_CXX_FLAGS): stops the configure, with a clear message, when the
# LibTorch found was built with another C++ ABI than the system's libraries (yaml-cpp, spdlog,
# fmt, GoogleTest, Open MPI's C++ bindings: the distribution builds them with the compiler's
# default, the new ABI (_GLIBCXX_USE_CXX11_ABI=1) on Debian and Ubuntu). Such a mix compiles,
# then fails to link (std::string / std::list symbols differ) or misbehaves at run time. Pip
# torch used the old ABI before 2.7; LibTorch downloads offer both ("cxx11 ABI" = new).
include(CheckCXXSourceCompiles)
function(kd_check_torch_abi torch_cxx_flags)
  if(NOT torch_cxx_flags MATCHES "_GLIBCXX_USE_CXX11_ABI=([01])")
    return()  # LibTorch does not say: nothing to compare
  endif()
  set(torch_abi ${CMAKE_MATCH_1})
  # The compiler's default, with which the system's C++ libraries were built.
  check_cxx_source_compiles("#include <string>
#if !_GLIBCXX_USE_CXX11_ABI
#error old C++ ABI
#endif
int main() { return 0; }" KD_SYSTEM_CXX11_ABI)
  if(KD_SYSTEM_CXX11_ABI)
    set(system_abi 1)
  else()
    set(system_abi 0)
  endif()
  if(NOT torch_abi STREQUAL system_abi)
    message(FATAL_ERROR
      "LibTorch (${Torch_DIR}) was built with _GLIBCXX_USE_CXX11_ABI=${torch_abi}, but this "
      "system's C++ libraries (yaml-cpp, spdlog, fmt, GoogleTest, MPI C++ bindings) use "
      "_GLIBCXX_USE_CXX11_ABI=${system_abi}: the two cannot be linked into one program. Use a "
      "LibTorch with the system's ABI: Debian's libtorch-dev, a pip torch >= 2.7 "
      "(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)'), or the "
      "'cxx11 ABI' LibTorch download.")
  endif()
  message(STATUS "kdprune: LibTorch C++ ABI _GLIBCXX_USE_CXX11_ABI=${torch_abi}, as the system's")
endfunction()
