"""Command line of rnnlab.

    python -m rnnlab train --model frn --T 20 --seed 0 --out model.npz
    python -m rnnlab sweep frn-lag --out results/frn_lag.json
    python -m rnnlab sweep frn-truncation --out results/frn_truncation.json
    python -m rnnlab sweep jordan-lag --out results/jordan_lag.json
    python -m rnnlab sweep latching --out results/latching.json
    python -m rnnlab sweep lstm-t100 --out results/lstm_t100.json
    python -m rnnlab sweep rtrl-reach --out results/rtrl_reach.json
    python -m rnnlab sweep rtrl-why --out results/rtrl_why.json
    python -m rnnlab sweep rtrl-long --out results/rtrl_long.json
    python -m rnnlab bench --out results/bench.json
    python -m rnnlab reproduce --jobs 2 --out results/exp3a.json
    python -m rnnlab reproduce --T 100 --N 1 --trials 3 --engine numpy --out row.json
    python -m rnnlab reproduce --diagnose results/exp3a.json --out results/exp3a_diagnostics.json

``train`` uses the chapter's recipe for the model (overridable), prints the
accuracy on 1000 fresh sequences and saves the parameters to an ``.npz`` keyed
by the names of ``params()``. A diverging run exits with status 1 and says why.
"""

import argparse
import sys
import time

import numpy as np

from rnnlab.models.base import DivergenceError
from rnnlab.training.train import RECIPES, evaluate, train_recipe


def _parser():
    parser = argparse.ArgumentParser(prog="python -m rnnlab", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    tr = sub.add_parser("train", help="train a model on the memory task with its chapter's recipe")
    tr.add_argument("--model", choices=sorted(RECIPES), required=True)
    tr.add_argument("--T", type=int, required=True, help="sequence length")
    tr.add_argument("--seed", type=int, default=0, help="seed of the weights and the training data")
    tr.add_argument("--out", help="save the trained parameters to this .npz file")
    tr.add_argument("--hidden", type=int, help="hidden units I (recipe default)")
    tr.add_argument("--batch-size", type=int, help="sequences per update (recipe default)")
    tr.add_argument("--eta", type=float, help="learning rate (recipe default)")
    tr.add_argument("--steps", type=int, help="number of updates (recipe default)")
    tr.add_argument("--init-scale", type=float, help="initial weights uniform in [-s, s] (recipe default)")
    tr.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    be = sub.add_parser("bench", help="time training steps against PyTorch and the cost of RTRL")
    be.add_argument("--repeats", type=int, default=7, help="runs per measurement (the median is printed)")
    be.add_argument("--out", help="also write the numbers to this JSON file")

    rp = sub.add_parser("reproduce", help="Experiment 3a of Hochreiter & Schmidhuber (1997): Table 4, or one row")
    rp.add_argument("--T", type=int, help="minimum sequence length of one row (default: every row of the table)")
    rp.add_argument("--N", type=int, help="class-carrying elements of that row (default 1 with --T)")
    rp.add_argument("--trials", type=int, help="trials per row (default: the table's)")
    rp.add_argument("--max-sequences", type=int, help="training sequences per trial at most (default: the table's)")
    rp.add_argument("--engine", choices=["numba", "numpy"], default="numba", help="compiled or numpy engine")
    rp.add_argument("--jobs", type=int, help="worker processes (default: all cores)")
    rp.add_argument("--diagnose", metavar="RESULTS", help="instead: trace the failed and slow trials of a results file")
    rp.add_argument("--out", required=True, help="JSON file to write")

    sw = sub.add_parser("sweep", help="run a long sweep into a results file for the book")
    sw.add_argument("name", choices=["frn-lag", "frn-truncation", "jordan-lag", "latching", "lstm-t100",
                                     "rtrl-reach", "rtrl-why", "rtrl-long"])
    sw.add_argument("--out", required=True, help="JSON file to write")
    sw.add_argument("--jobs", type=int, help="worker processes (default: all cores)")
    return parser


def _short(value):
    """A recipe value for one line of output: long lists shown by their first entries."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list) and len(value) > 4:
        return "[" + ", ".join(map(str, value[:3])) + f", ... ({len(value)} values)]"
    return value


def _train(args):
    start = time.time()
    run = train_recipe(
        args.model, args.T, args.seed, progress=not args.no_progress, I=args.hidden,
        batch_size=args.batch_size, eta=args.eta, steps=args.steps, init_scale=args.init_scale,
    )
    seconds = time.time() - start
    model, recipe = run.model, run.recipe
    acc = evaluate(model, args.T)
    settings = ", ".join(f"{k}={_short(v)}" for k, v in recipe.items() if k != "model")
    print(f"{args.model}: T={args.T}, seed={args.seed}, {settings}")
    print(f"{len(run.losses)} updates ({run.sequences:,} sequences), final training loss "
          f"{run.losses[-1]:.4f}; {seconds:.1f} s")
    print(f"test accuracy on 1000 fresh sequences: {acc:.3f}")
    if args.out:
        np.savez(args.out, **model.params())
        print(f"parameters saved to {args.out}: {', '.join(model.param_names)}")


def _reproduce(args, argv):
    from rnnlab.training.reproduction import EXP3A, exp3a_diagnose, exp3a_sweep

    argv = sys.argv[1:] if argv is None else argv
    if args.diagnose:
        traced = exp3a_diagnose(args.diagnose, args.out, jobs=args.jobs, command="python -m rnnlab " + " ".join(argv))
        for trial in traced["trials"]:
            print(f"T = {trial['T']}, N = {trial['N']}, trial {trial['trial']} ({trial['reason']}): "
                  f"{len(trial['snapshots'])} snapshots")
        print(f"{traced['wall_seconds']} s -> {args.out}")
        return
    settings = dict(EXP3A)
    if args.N is not None and args.T is None:
        raise ValueError(f"--N selects a row together with --T; got --N {args.N} without --T")
    if args.T is not None:
        settings["rows"] = [dict(T=args.T, N=1 if args.N is None else args.N)]
    if args.trials is not None:
        settings["trials"] = args.trials
    if args.max_sequences is not None:
        settings["max_sequences"] = args.max_sequences
    result = exp3a_sweep(args.out, settings, args.engine, args.jobs, command="python -m rnnlab " + " ".join(argv))
    for row in result["rows"]:
        print(f"T = {row['T']}, N = {row['N']}: ST1 at {row['st1']}, ST2 at {row['st2']}")
    print(f"{result['wall_seconds']} s, {result['steps_per_second']:,} training steps per second -> {args.out}")


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        if args.command == "train":
            _train(args)
        elif args.command == "reproduce":
            _reproduce(args, argv)
        elif args.command == "bench":
            from rnnlab.training.bench import run_benchmarks

            run_benchmarks(repeats=args.repeats, out=args.out)
        else:
            from rnnlab.training import experiments

            if args.name in experiments.LAG_GRIDS:
                result = experiments.lag_sweep(args.name, args.out, jobs=args.jobs)
                print(f"{len(result['records'])} runs in {result['wall_seconds']} s -> {args.out}")
            elif args.name in ("rtrl-reach", "rtrl-why", "rtrl-long"):
                settings = {"rtrl-reach": experiments.RTRL_REACH, "rtrl-why": experiments.RTRL_WHY,
                            "rtrl-long": experiments.RTRL_LONG}[args.name]
                result = experiments.reach_sweep(args.out, settings, args.name, jobs=args.jobs)
                print(f"{len(result['runs'])} runs in {result['wall_seconds']} s -> {args.out}")
            else:
                sweep = {"lstm-t100": experiments.lstm_t100_sweep, "latching": experiments.latching_sweep}[args.name]
                sweep(args.out, jobs=args.jobs)
                print(f"written to {args.out}")
    except DivergenceError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except (TypeError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
