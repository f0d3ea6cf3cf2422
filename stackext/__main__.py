"""`python -m stackext`: the same as the `stackext` console script."""

from stackext.cli import main_exit

if __name__ == "__main__":
    main_exit()
