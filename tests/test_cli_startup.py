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


def test_info_and_the_model_list_do_not_import_torch(tmp_path):
    """Reading a project (its missing-model check hashes the model files) stays light: no torch."""
    from melodex_studio.io.project import save_project
    from tests.songs import make_demo_song

    path = tmp_path / "p.melodex"
    save_project(path, make_demo_song(bars=4, tracks=2))
    code = (f"import sys; from melodex_studio.cli import main; main(['info', {str(path)!r}]); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"
