"""``python -m sr_lab.bench``."""

from sr_lab.bench import main

main()
