"""The base install works without the extras, and what needs an extra names it.

Each test runs Python in a subprocess where the extra's packages cannot be imported:
``sys.modules[name] = None`` makes ``import name`` raise ImportError, as when it is not
installed (the test extra installs them all, so this is the only way to see the base install).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCALE = ("distributed", "cloudpickle", "dask")  # the `scale` extra and what comes with it
LAB = ("jupyterlab",)


def run_without(blocked: tuple[str, ...], code: str) -> subprocess.CompletedProcess:
    prelude = "import sys\n" + "".join(f"sys.modules[{name!r}] = None\n" for name in blocked)
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def lines_of(result: subprocess.CompletedProcess) -> list[str]:
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_the_block_makes_distributed_unimportable():
    result = run_without(SCALE, "import distributed\n")
    assert result.returncode == 1
    assert "ModuleNotFoundError: import of distributed halted" in result.stderr


def test_import_streamlab_and_run_a_pipeline_without_distributed():
    out = lines_of(
        run_without(
            SCALE,
            """
            import streamlab
            from streamz import Stream
            src = streamlab.generate("noise", rows=500)
            n = src.map(len).sink_to_list()
            streamlab.run(src)
            loaded = [m for m in ("dask", "distributed", "cloudpickle") if sys.modules.get(m)]
            print(sum(n), callable(Stream.parallel), loaded)
            print(streamlab.cluster(2))
            """,
        )
    )
    assert out == [
        "500 True []",
        "<streamlab.scale.cluster: LocalCluster of 2 workers (processes) x 1 thread, not started>",
    ]


SCALE_MESSAGE = (
    "scale-out needs {what}, which is not installed; "
    "install it with: pip install 'streamlab[scale]'"
)

ASYNC_CLUSTER = """
import asyncio

async def main():
    async with streamlab.cluster(1):
        pass

asyncio.run(main())
"""


@pytest.mark.parametrize(
    ("call", "what"),
    [
        (
            "from streamz import Stream\nStream().parallel(lambda df: df, client=None)",
            "dask.distributed",
        ),
        (ASYNC_CLUSTER, "dask.distributed"),
        (
            "from streamlab.scale.cluster import check_picklable\ncheck_picklable(len)",
            "cloudpickle",
        ),
    ],
    ids=["parallel", "cluster", "check_picklable"],
)
def test_scale_without_distributed_names_the_extra(call, what):
    code = "import streamlab\ntry:\n" + textwrap.indent(call.strip(), "    ")
    code += "\nexcept streamlab.ConfigError as exc:\n    print(exc)\n"
    assert lines_of(run_without(SCALE, code)) == [SCALE_MESSAGE.format(what=what)]


def test_lab_without_jupyterlab_names_the_extra():
    result = run_without(
        LAB,
        """
        from streamlab.cli.main import main
        print(main(["lab"]))
        """,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["2"]
    assert result.stderr.splitlines() == [
        "streamlab lab: error: streamlab lab needs JupyterLab, which is not installed; "
        "install it with: pip install 'streamlab[lab]'"
    ]
