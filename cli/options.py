"""Options shared by several commands."""

import click

mano_dir_option = click.option(
    "--mano-dir", type=str, default=None, metavar="DIR",
    help="Folder with MANO_RIGHT and MANO_LEFT (.npz from `handeval mano import`, or the official .pkl). "
         "Defaults to $HANDEVAL_MANO_DIR; without either, the synthetic MANO stand-in is used.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of text.")
