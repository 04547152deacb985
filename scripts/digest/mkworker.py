"""A MkDocs process started before it is needed (``python -m digest.mkworker
CONFIG``): it imports MkDocs, the theme, the plugins and the Markdown
extensions that CONFIG names while the digest checks and renders the
seeds, then waits for one build to run: a JSON line on its standard input
with the command-line arguments, the environment and the folder to run in.
It then is ``python -m mkdocs`` with those arguments, output and exit
status included. End of input (the build did not need it): it exits.

An incremental build runs MkDocs once on the changed pages (incremental.
_MkDocsRun). At 10,000 articles that run took 0.6 s, of which starting
Python and importing took a third, on the critical path of every edit.
"""

from __future__ import annotations

import json
import logging
import os
import sys


def _warm(config_file: str) -> None:
    """Import what a build of ``config_file`` imports; nothing is kept but
    the modules (and what they cache at import). Quiet: the build's own
    output is what the caller reads."""
    import markdown
    import mkdocs.__main__  # the command line
    import mkdocs.commands.build  # noqa: F401
    from mkdocs.config import load_config

    logging.disable(logging.CRITICAL)
    try:
        config = load_config(config_file)
        markdown.Markdown(extensions=config.markdown_extensions, extension_configs=config.mdx_configs).convert("")
    except Exception:  # the build will report it, if it happens again
        pass
    finally:
        logging.disable(logging.NOTSET)


def main() -> None:
    _warm(sys.argv[1])
    line = sys.stdin.readline()
    if not line:
        return
    request = json.loads(line)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    from mkdocs.__main__ import cli

    cli.main(args=request["args"], prog_name="mkdocs")  # exits, as `python -m mkdocs` does


if __name__ == "__main__":
    main()
