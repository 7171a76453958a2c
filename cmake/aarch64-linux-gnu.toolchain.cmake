# Cross-compiling the shim for linux-aarch_64 on an x86_64 Debian host:
#   apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static
# The C tests run under qemu-aarch64-static, with the target's libc from /usr/aarch64-linux-gnu.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(UMH_CROSS_SYSROOT /usr/aarch64-linux-gnu)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
find_program(UMH_QEMU_AARCH64 qemu-aarch64-static)
if(NOT UMH_QEMU_AARCH64)
  message(FATAL_ERROR "the aarch64 C tests run under qemu-aarch64-static: apt-get install qemu-user-static")
endif()
set(CMAKE_CROSSCOMPILING_EMULATOR ${UMH_QEMU_AARCH64} -L ${UMH_CROSS_SYSROOT})

# headers and libraries from the target's tree only; programs (readelf, sh) from the host
set(CMAKE_FIND_ROOT_PATH ${UMH_CROSS_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
