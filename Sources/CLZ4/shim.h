#ifndef UNDERSTUDY_CLZ4_SHIM_H
#define UNDERSTUDY_CLZ4_SHIM_H
#include <lz4.h>
#endif
