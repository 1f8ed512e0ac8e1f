"""Entry point of the desktop bundle (PyInstaller): one program, two names.

Started as ``melodex-studio`` (or ``Melodex Studio``) it opens the window; started as ``melodex`` (a link next to
it in the bundle folder, or ``melodex-studio --cli ...``) it is the command line. ``-m module`` runs a module as
``python -m`` would: the window starts its SoundFont preview child as ``sys.executable -m
melodex_studio.engine.preview_child``, and in the bundle ``sys.executable`` is this program.
"""
import multiprocessing
import os
import sys


def main() -> int:
    if sys.argv[1:2] == ["-m"] and len(sys.argv) > 2:
        import runpy

        module = sys.argv[2]
        sys.argv = [sys.argv[0], *sys.argv[3:]]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0
    name = os.path.basename(sys.argv[0]).lower().removesuffix(".exe")
    if name == "melodex" or sys.argv[1:2] == ["--cli"]:
        if sys.argv[1:2] == ["--cli"]:
            del sys.argv[1]
        from melodex_studio.cli import main as cli

        return cli(sys.argv[1:])
    from melodex_studio.ui.app import main as studio

    return studio(sys.argv[1:])


if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
