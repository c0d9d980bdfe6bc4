"""The one thing pyproject.toml cannot say: the lessons (notebooks/) ship inside the package.

A wheel carries notebooks/*.ipynb as the package `coreylab.lessons` (package-dir mapping), so a
hub's user image or a `pip install coreylab` has them; in the checkout they stay in notebooks/,
where nbval, CI and tools/nbstore.py use them. notebooks/conftest.py (nbval's settings) is not
a lesson and stays out of the wheel. Everything else is in pyproject.toml.
"""

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

LESSONS = "coreylab.lessons"


class BuildPy(build_py):
    def find_package_modules(self, package, package_dir):
        if package == LESSONS:  # the lessons' folder holds notebooks, not modules
            return []
        return super().find_package_modules(package, package_dir)


setup(
    packages=[*find_packages(include=["coreylab*"]), LESSONS],
    package_dir={LESSONS: "notebooks"},
    package_data={LESSONS: ["*.ipynb"]},
    cmdclass={"build_py": BuildPy},
)
