import subprocess
import sys


def test_building_the_cli_parser_does_not_import_torch():
    """Every command module is imported to build the parser; heavy imports must stay inside the commands."""
    code = ("import sys; from melodex_studio.cli import build_parser; p = build_parser(); "
            "print(sorted(p._subparsers._group_actions[0].choices)); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    commands = eval(out[0])
    for name in ("import", "export", "render", "info", "plan", "generate", "regenerate", "train", "eval"):
        assert name in commands
    assert out[1] == "False"
