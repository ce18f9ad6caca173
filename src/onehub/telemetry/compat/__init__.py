"""One module per library whose private parts OneHub relies on; nothing else touches them.

Each module's docstring names the private names it uses and the versions it was checked
against; pyproject.toml pins those libraries exactly, and tests/compat fails loudly, naming the
library and its installed version, when one of them changes shape or a speed-up stops applying.
"""
