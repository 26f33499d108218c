"""``python -m nebula_images``: the same command line as ``nebula-images``."""

from nebula_images.cli import main

if __name__ == "__main__":
    main()
