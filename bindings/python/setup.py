"""Build hook: when EDDY_LIB names a built libeddy.so, bundle a copy of it in
the package (eddy/libeddy.so), where the loader looks right after EDDY_LIB.
Without EDDY_LIB the package is pure Python and finds the library at run time."""

import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithLib(build_py):
    def run(self):
        super().run()
        lib = os.environ.get("EDDY_LIB")
        if lib:
            if not os.path.isfile(lib):
                raise SystemExit(f"EDDY_LIB={lib} does not exist")
            dest = os.path.join(self.build_lib, "eddy", "libeddy.so")
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copy2(lib, dest)


setup(cmdclass={"build_py": BuildPyWithLib})
