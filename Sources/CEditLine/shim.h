// libedit's readline interface (Debian: libedit-dev). Its header needs stdio.h first.
#include <stdio.h>
#include <editline/readline.h>

// Swift 6 refuses to assign a C global from Swift code (shared mutable state): set libedit's
// source of keys here. Called once, before the first readline.
static inline void crc_set_getc_function(int (*f)(FILE *)) { rl_getc_function = f; }
