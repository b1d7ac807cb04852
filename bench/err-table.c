/*
 * err-table.c: print the error -> alert table of docs/architecture.md
 * straight from the core (zt_err_str, zt_err_alert, zt_alert_str), so the
 * document can be checked against src/errors.c:
 *   make -C bench err-table
 * The RFC column of the document is written by hand; this prints the rest.
 */
#include <stdio.h>

#include "zigtls.h"

int main(void)
{
    int e;

    printf("| code | zt_err_str | alert sent |\n|---|---|---|\n");
    for (e = 0; e < ZT_E__COUNT; e++) {
        uint8_t a = zt_err_alert((zt_err)e);
        printf("| %d | `%s` | %s", e, zt_err_str((zt_err)e),
               a == ZT_ALERT_NONE ? "none" : zt_alert_str(a));
        if (a != ZT_ALERT_NONE)
            printf(" (%u)", a);
        printf(" |\n");
    }
    return 0;
}
