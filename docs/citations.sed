# Rewrites the repository's citations of the old external notes to the documents in docs/.
#
# Apply from the repository root, on Rust and Markdown files:
#   find src tests examples benches -name '*.rs' -print0 | xargs -0 sed -i -E -f docs/citations.sed
#   sed -i -E -f docs/citations.sed README.md BENCHMARKS.md
# It needs -E (extended regular expressions). It is idempotent: a citation that already reads
# docs/providers.md or docs/design.md is left alone, and so are identifiers such as
# go_duration_table_from_providers_md (an underscore, not a dot).
#
# Section and lesson numbers are unchanged: docs/providers.md keeps the old § numbers and
# docs/design.md the old lesson numbers, so "providers.md §2.5" becomes
# "docs/providers.md §2.5", "(providers.md" at the end of a line (its § on the next line)
# becomes "(docs/providers.md", and "DESIGN.md lesson 4" becomes "docs/design.md lesson 4".

# 1. "Written from providers.md": the emulator was written from the providers' behaviour, which
#    docs/providers.md summarises. These come first, before the generic rename below.
#    In a Rust comment the line would outgrow 100 columns, so the rest goes to a new line with
#    the same comment prefix (GNU sed: \n in the replacement). Elsewhere (Markdown) one line.
s/^([[:space:]]*\/\/[!\/]* )(.*)written from `providers\.md` alone(.*)$/\1\2written from the providers' public documentation alone\n\1(summarised in `docs\/providers.md`)\3/
s/^([[:space:]]*\/\/[!\/]* )(.*)([Ww]ritten) from `?providers\.md`?(.*)$/\1\2\3 from the providers' public documentation\n\1(summarised in docs\/providers.md)\4/
s/written from `providers\.md` alone/written from the providers' public documentation alone (summarised in `docs\/providers.md`)/g
s/([Ww]ritten) from `?providers\.md`?/\1 from the providers' public documentation (summarised in docs\/providers.md)/g

# 2. Every other mention of the file, in any form: "providers.md §1.6", "(providers.md §5 step 1)",
#    "the captures in providers.md §1.4", "`providers.md`", "from providers.md", a line ending in
#    "(providers.md". Not when a path or a name runs into it (docs/providers.md, x_providers.md).
s/(^|[^/[:alnum:]_.-])providers\.md/\1docs\/providers.md/g

# 3. The design notes: "DESIGN.md lesson 1", "(DESIGN.md lesson 2, ...", "`DESIGN.md`".
s/(^|[^/[:alnum:]_.-])DESIGN\.md/\1docs\/design.md/g
