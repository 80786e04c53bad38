"""The whole report: each run's machine, date and versions, the table, the circles and IMDB
targets."""

from bench.format import bytes_text
from bench.report import HEADER, NOTEBOOK_BACKEND, cells, circles_targets, imdb_target, row
from bench.results import Line

METHOD = (
    "Wall times are medians over the repeats: the bare script from spawn to exit (imports "
    "included), fitq from POST to the poll that sees every experiment succeeded, on a warm, "
    "idle worker. Fit times: around the fit calls in the bare script, and as the worker "
    "reports them (GET /experiments/{id} `timings`). Curves agree when the largest difference "
    "of a model's median final val_loss is within the spread (max - min) of the bare repeats; "
    "for that model, the rank test's p is a two-sided Mann-Whitney U test of the two sides' "
    "final val_loss (below 0.05: the draws look like two distributions). "
    "The limit (circles, JAX only) is the bare script's model fitted by the very program "
    "fitq's compiled trainer runs, without fitq (bench/bare/circles_compiled.py): its fit is "
    "building the model, compiling the program and one call for every epoch, timed in the "
    "script, the least a compiled fit of a new model takes on this machine; fitq compile is "
    "the median of the seconds the worker spent compiling a submission's programs (0 when it "
    "reused one). fitq-fit is fitq's "
    "submissions again on a second warm worker started with FITQ_TRAINER=fit (Keras's "
    "model.fit, JAX only), after the default worker's runs."
)


def markdown(lines: list[Line]) -> str:
    metas = [line for line in lines if line.get("type") == "meta"]
    found = cells(lines)
    parts = [_meta(meta) for meta in metas]
    if any(cell.overrides for cell in found):
        parts.append(
            "**Not a benchmark**: epochs were overridden (--epochs-override) to smoke-test "
            "the harness; these figures say nothing about fitq's speed."
        )
    parts.append(METHOD)
    parts.append("\n".join([HEADER, *(row(cell) for cell in found)]))
    if any(cell.workload == "circles" for cell in found):
        parts.append(circles_targets(found))
    if any(cell.workload == "imdb_study" for cell in found):
        default = metas[-1].get("fitq_default_backend", NOTEBOOK_BACKEND) if metas else None
        parts.append(imdb_target(found, default or NOTEBOOK_BACKEND))
    failed = sum(cell.failed for cell in found)
    if failed:
        parts.append(f"{failed} run(s) failed; their `error` is in the results file.")
    return "\n\n".join(parts) + "\n"


def _meta(meta: Line) -> str:
    machine, versions = meta.get("machine", {}), meta.get("versions", {})
    memory = machine.get("memory_bytes")
    gpus = ", ".join(machine.get("gpus") or []) or "none"
    listed = ", ".join(f"{name} {version}" for name, version in versions.items())
    options = meta.get("options", {})
    env = meta.get("fitq_environment") or {}
    settings = ", ".join(f"{k}={v}" for k, v in sorted(env.items())) or "defaults"
    return (
        f"Run {meta.get('run_id')} on {meta.get('date')}: {machine.get('cpus')} CPUs "
        f"({machine.get('cpu')}), {bytes_text(memory)} memory, GPUs: {gpus}; "
        f"{machine.get('platform')}.  \n"
        f"Versions: {listed}.  \n"
        f"Options: workloads {', '.join(options.get('workloads', []))}; backends "
        f"{', '.join(options.get('backends', []))}; {options.get('repeats')} repeat(s); "
        f"epochs override {options.get('epochs_override')}; fitq settings: {settings}."
    )
