/* The helper this example ships in its jar: reads whitespace-separated integers from stdin until
 * EOF and writes their sum and a newline. Exits 1 on anything that is not a number. */
#include <stdio.h>

int main(void)
{
    long long sum = 0, n;
    int r;
    while ((r = scanf("%lld", &n)) == 1)
        sum += n;
    if (r != EOF)
        return 1;
    printf("%lld\n", sum);
    return 0;
}
