"""`credit data ...`: generate synthetic tables, load table files into Postgres, summarise them."""

import typer

from services.data.loader import load_command
from services.data.summary import summary_command
from services.data.synth import synth_command

data_app = typer.Typer(no_args_is_help=True, help="Generate, load and summarise the Home Credit tables.")
data_app.command("synth")(synth_command)
data_app.command("load")(load_command)
data_app.command("summary")(summary_command)
