// libedit's readline interface (Debian: libedit-dev). Its header needs stdio.h first.
#include <stdio.h>
#include <editline/readline.h>
