/* A straightforward C word counter, the baseline `scripts/bench-hotpath.sh` measures `wordfreq
 * count` against: stdin decoded as UTF-8 by the C library (mbrtowc), lowercase (towlower), every
 * character neither alphanumeric (iswalnum) nor white space (iswspace) deleted, split on white
 * space, words of 3 characters or more counted in an open-addressing hash table, printed as
 * `word<TAB>count`, count descending then word ascending. Unlike the product it does no Unicode
 * normalization and deletes combining marks: the rule as a C programmer would write it first.
 * Build: cc -O2 -o wordcount wordcount.c */
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

typedef struct {
    wchar_t *word;
    size_t len;
    uint64_t count;
} Entry;

static Entry *table;
static size_t capacity = 1 << 16, used;

static uint64_t hash(const wchar_t *word, size_t len) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) h = (h ^ (uint64_t)word[i]) * 1099511628211ULL;
    return h;
}

static void grow(void);

static void add(const wchar_t *word, size_t len, uint64_t times) {
    if (used * 2 >= capacity) grow();
    size_t i = hash(word, len) & (capacity - 1);
    while (table[i].word) {
        if (table[i].len == len && wmemcmp(table[i].word, word, len) == 0) {
            table[i].count += times;
            return;
        }
        i = (i + 1) & (capacity - 1);
    }
    table[i].word = malloc(len * sizeof(wchar_t));
    wmemcpy(table[i].word, word, len);
    table[i].len = len;
    table[i].count = times;
    used++;
}

static void grow(void) {
    Entry *old = table;
    size_t old_capacity = capacity;
    capacity *= 2;
    table = calloc(capacity, sizeof(Entry));
    used = 0;
    for (size_t i = 0; i < old_capacity; i++)
        if (old[i].word) {
            add(old[i].word, old[i].len, old[i].count);
            free(old[i].word);
        }
    free(old);
}

static int by_rank(const void *a, const void *b) {
    const Entry *x = a, *y = b;
    if (x->count != y->count) return x->count < y->count ? 1 : -1;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = wmemcmp(x->word, y->word, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

int main(void) {
    setlocale(LC_ALL, "C.UTF-8");
    table = calloc(capacity, sizeof(Entry));
    static char buffer[1 << 16];
    wchar_t word[4097];
    size_t len = 0, have = 0;
    mbstate_t state = {0};
    for (;;) {
        size_t got = fread(buffer + have, 1, sizeof buffer - have, stdin);
        have += got;
        if (have == 0) break;
        size_t pos = 0;
        while (pos < have) {
            wchar_t c;
            size_t n = mbrtowc(&c, buffer + pos, have - pos, &state);
            if (n == (size_t)-2) break; /* an incomplete character: read more */
            if (n == (size_t)-1) { memset(&state, 0, sizeof state); pos++; continue; }
            pos += n ? n : 1;
            if (iswspace(c)) {
                if (len >= 3) add(word, len, 1);
                len = 0;
            } else if (iswalnum(c) && len < 4096) {
                word[len++] = towlower(c);
            }
        }
        memmove(buffer, buffer + pos, have - pos);
        have -= pos;
        if (got == 0) break;
    }
    if (len >= 3) add(word, len, 1);
    Entry *ranked = malloc(used * sizeof(Entry));
    size_t n = 0;
    for (size_t i = 0; i < capacity; i++) if (table[i].word) ranked[n++] = table[i];
    qsort(ranked, n, sizeof(Entry), by_rank);
    for (size_t i = 0; i < n; i++) {
        /* printf's precision for %ls counts bytes, not characters: terminate the word instead. */
        wmemcpy(word, ranked[i].word, ranked[i].len);
        word[ranked[i].len] = L'\0';
        printf("%ls\t%llu\n", word, (unsigned long long)ranked[i].count);
    }
    return 0;
}
