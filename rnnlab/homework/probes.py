"""What runs in the student's kernel: call the student's code on given inputs, return plain values.

A probe takes the notebook's namespace and the inputs the grader drew for this run
(weights, sequences, learning rates), builds the student's object, copies the weights into
it by name, calls its public methods and returns what came out — losses, gradients,
outputs, updated weights — as numbers. It decides nothing: the grader's own process
compares the values with the reference (:mod:`rnnlab.homework.checks`). So a submission
that patches this module, numpy or IPython in its kernel can only change the values it
sends, and wrong values score zero.

See the *For instructors* page.
"""

import contextlib
import inspect
import io

import numpy as np

__all__ = ["PROBES", "probe"]


class Unanswered(Exception):
    """The student's code raised NotImplementedError (the stub is untouched)."""


class StudentError(Exception):
    """The student's code failed or returned something that is not what the API promises."""


def _describe(value):
    text = repr(value)
    return (text[:57] + "...") if len(text) > 60 else text


def call(what, fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, turning the student's exceptions into a message that says where."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise Unanswered(what) from None
    except Exception as err:  # noqa: BLE001 - a student's bug is a result
        raise StudentError(f"{what} raised {type(err).__name__}: {err}") from None


def floats(value, what):
    """A copy of ``value`` as a float array, or a clear complaint."""
    try:
        return np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise StudentError(f"{what} must be numbers (an array); got {_describe(value)}") from None


def lookup(ns, name):
    if name not in ns:
        raise StudentError(f"{name} is not defined: run the cell that defines it")
    return ns[name]


def _is_rnnlab(obj):
    return str(getattr(obj, "__module__", "")).startswith("rnnlab")


def require_own(obj, name):
    """Refuse the package's own code where the student's is expected."""
    if _is_rnnlab(obj):
        raise StudentError(f"{name} is rnnlab's own ({obj.__module__}), not yours: run the cell where you "
                           f"define {name}")


def get(obj, dotted):
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def put(obj, dotted, value):
    *path, leaf = dotted.split(".")
    for part in path:
        obj = getattr(obj, part)
    setattr(obj, leaf, np.array(value, dtype=float))


def grad_name(dotted):
    head, _, leaf = dotted.rpartition(".")
    return f"{head}.d{leaf}" if head else f"d{leaf}"


def read(obj, names, what):
    """The arrays ``names`` of ``obj`` as floats, with the missing ones named."""
    out = {}
    for name in names:
        try:
            value = get(obj, name)
        except AttributeError:
            raise StudentError(f"{what} has no attribute {name}") from None
        out[name] = floats(value, name)
    return out


# -- chapter 1 -------------------------------------------------------------------------------
def _take(stream, n, what):
    xs, ys = [], []
    for _ in range(n):
        x, y = call(f"next({what})", next, stream)
        xs.append(floats(x, "x").reshape(-1))
        ys.append(floats(y, "y").reshape(-1))
    return np.array(xs), np.array(ys)


def probe_generate_data(ns, inputs):
    generate_data = lookup(ns, "generate_data")
    require_own(generate_data, "generate_data")
    T, n, m = inputs["T"], inputs["n"], inputs["m"]
    state = np.random.get_state()
    stream = call(f"generate_data({T})", generate_data, T)
    if not hasattr(stream, "__next__"):
        return {"generator": False, "returned": _describe(stream)}
    x, y = call(f"next(generate_data({T}))", next, stream)
    values = {"generator": True, "x_shape": list(np.shape(x)), "y_shape": list(np.shape(y))}
    values["x"], values["y"] = _take(stream, n, f"generate_data({T})")
    values["x_again"], _ = _take(call(f"generate_data({T})", generate_data, T), m + 1, f"generate_data({T})")
    values["x_first"] = floats(x, "x").reshape(-1)
    try:
        values["seed"] = "seed" in inspect.signature(generate_data).parameters
    except (TypeError, ValueError):
        values["seed"] = False
    if values["seed"]:
        first, second = inputs["seeds"]
        for key, seed in (("seed_a", first), ("seed_b", first), ("seed_c", second)):
            values[key], _ = _take(call(f"generate_data({T}, seed={seed})", generate_data, T, seed=seed), m,
                                   f"generate_data({T}, seed={seed})")
    after = np.random.get_state()
    values["global_state_unchanged"] = bool(state[0] == after[0] and np.array_equal(state[1], after[1])
                                            and state[2:] == after[2:])
    return values


# -- chapter 2 -------------------------------------------------------------------------------
def _frn_class(ns, method):
    cls = lookup(ns, "FullyRecurrentNetwork")
    require_own(cls, "FullyRecurrentNetwork")
    if not hasattr(cls, method):
        raise StudentError(f"FullyRecurrentNetwork has no method {method}: run the cell that attaches it "
                           f"(FullyRecurrentNetwork.{method} = {method})")
    require_own(getattr(cls, method), f"FullyRecurrentNetwork.{method}")
    return cls


def _frn(cls, inputs, weights):
    model = call(f"FullyRecurrentNetwork(1, {inputs['I']}, 1)", cls, 1, inputs["I"], 1)
    for name, value in weights.items():
        put(model, name, value)
    return model


def probe_frn_backward(ns, inputs):
    cls = _frn_class(ns, "backward")
    model = _frn(cls, inputs, inputs["weights"])
    out = {"losses": [], "grads": []}
    for case in inputs["cases"]:
        y = case["y"] if case["scalar"] else np.array([case["y"]])
        out["losses"].append(float(floats(call("forward(x, y)", model.forward, case["x"], y), "the loss")))
        call("backward()", model.backward)
        out["grads"].append(read(model, ["dW", "dR", "dV"], "the network after backward()"))
    return out


def probe_frn_grad_check(ns, inputs):
    cls = _frn_class(ns, "grad_check")

    class Probe(cls):
        calls = 0

        def forward(self, x, y):
            type(self).calls += 1
            return super().forward(x, y)

        def backward(self):          # the gradient under test, drawn by the grader
            for name, value in self.claims.items():
                setattr(self, name, np.array(value, dtype=float))

    results = []
    for case in inputs["cases"]:
        model = _frn(Probe, inputs, case["weights"])
        model.claims = case["claims"]
        call("forward(x, y)", model.forward, case["x"], case["y"])
        model.backward()
        Probe.calls = 0
        printed = io.StringIO()
        raised = None
        try:
            with contextlib.redirect_stdout(printed):
                model.grad_check(case["eps"], case["thresh"])
        except NotImplementedError:
            raise Unanswered("grad_check") from None
        except Exception as err:  # noqa: BLE001 - raising is the answer under test
            raised = f"{type(err).__name__}: {err}"[:2000]
        results.append({"raised": raised, "printed": printed.getvalue()[:2000], "forward_calls": Probe.calls,
                        "weights": read(model, ["W", "R", "V"], "the network after grad_check")})
    return {"cases": results}


def probe_frn_update(ns, inputs):
    cls = _frn_class(ns, "update")
    model = _frn(cls, inputs, inputs["weights"])
    for name, value in inputs["grads"].items():
        put(model, name, value)
    call(f"update({inputs['eta']:.3g})", model.update, inputs["eta"])
    return {"weights": read(model, ["W", "R", "V"], "the network after update")}


# -- chapter 3 -------------------------------------------------------------------------------
def _function(ns, name):
    fn = lookup(ns, name)
    require_own(fn, name)
    return fn


def probe_jordan_jacobian(ns, inputs):
    fn = _function(ns, "jordan_jacobian")
    args = [inputs[k] for k in ("W", "R", "V", "x")]
    return {"J": [floats(call(f"jordan_jacobian(W, R, V, x, {t}, {s})", fn, *args, t, s), "J(t, s)")
                  for t, s in inputs["pairs"]]}


def probe_bounds(ns, inputs):
    frn_bound, jordan_bound = _function(ns, "frn_bound"), _function(ns, "jordan_bound")
    return {"frn": [float(floats(call(f"frn_bound(R, {c['T']})", frn_bound, c["R"], c["T"]), "the bound"))
                    for c in inputs["frn"]],
            "jordan": [float(floats(call(f"jordan_bound(R, V, {c['t']}, {c['s']})", jordan_bound, c["R"], c["V"],
                                         c["t"], c["s"]), "the bound")) for c in inputs["jordan"]]}


# -- chapter 4 -------------------------------------------------------------------------------
def _activation(name):
    from rnnlab.models.gate import SIGMOID, TANH

    return {"tanh": TANH, "sigmoid": SIGMOID}[name]


def _gate(ns, inputs, case):
    Gate = lookup(ns, "Gate")
    require_own(Gate, "Gate")
    return call(f"Gate({inputs['D']}, {inputs['I']}, {case['activation'].upper()})", Gate, inputs["D"],
                inputs["I"], _activation(case["activation"]))


def probe_gate(ns, inputs):
    out = []
    for case in inputs["cases"]:
        gate = _gate(ns, inputs, case)
        initial = read(gate, ["W", "R", "b"], "the gate after __init__")
        for name, value in case["weights"].items():
            put(gate, name, value)
        a = [floats(call("forward(x, h)", gate.forward, x, h), "a") for x, h in zip(case["xs"], case["hs"])]
        out.append({"initial": initial, "a": a})
    return {"cases": out}


def probe_gate_backward(ns, inputs):
    out = []
    for case in inputs["cases"]:
        gate = _gate(ns, inputs, case)
        for name, value in case["weights"].items():
            put(gate, name, value)
            put(gate, grad_name(name), np.ones_like(value))
        call("zero_grad()", gate.zero_grad)
        cleared = read(gate, ["dW", "dR", "db"], "the gate after zero_grad()")
        for x, h in zip(case["xs"], case["hs"]):
            call("forward(x, h)", gate.forward, x, h)
        steps = []
        for grad_a in case["grads_a"][::-1]:
            result = call("backward(grad_a)", gate.backward, grad_a)
            try:
                grad_x, grad_h = result
            except (TypeError, ValueError):
                raise StudentError(f"backward(grad_a) must return (grad_x, grad_h); got {_describe(result)}") from None
            steps.append([floats(grad_x, "grad_x"), floats(grad_h, "grad_h")])
        buffers = read(gate, ["dW", "dR", "db"], "the gate after backward")
        for name, value in case["G"].items():
            put(gate, grad_name(name), value)
        call(f"update({case['eta']:.3g})", gate.update, case["eta"])
        out.append({"cleared": cleared, "steps": steps, "buffers": buffers,
                    "updated": read(gate, ["W", "R", "b"], "the gate after update")})
    return {"cases": out}


LSTM_PARAMS = ["z.W", "z.R", "z.b", "i.W", "i.R", "i.b", "o.W", "o.R", "o.b", "W_y", "b_y"]


_MISSING = object()


@contextlib.contextmanager
def _gate_from(ns, source):
    """Run the LSTM with the student's Gate, or with rnnlab's assignment Gate in its place."""
    if source == "yours":
        yield
        return
    from rnnlab.homework.assignment.gate import Gate

    saved = ns.get("Gate", _MISSING)
    ns["Gate"] = Gate
    try:
        yield
    finally:
        if saved is _MISSING:
            ns.pop("Gate", None)
        else:
            ns["Gate"] = saved


def _lstm(ns, inputs):
    cls = lookup(ns, "LSTM")
    require_own(cls, "LSTM")
    model = call(f"LSTM(1, {inputs['I']}, 1)", cls, 1, inputs["I"], 1)
    for name, value in inputs["weights"].items():
        try:
            put(model, name, value)
        except AttributeError:
            raise StudentError(f"LSTM has no attribute {name.split('.')[0]}") from None
    return model


def _with_each_gate(ns, run):
    """The LSTM's values with the student's Gate and with rnnlab's: a wrong Gate costs its own exercise only."""
    out = {}
    for source in ("yours", "rnnlab"):
        try:
            with _gate_from(ns, source):
                out[source] = {"values": run()}
        except Unanswered as err:
            out[source] = {"unanswered": str(err)}
        except StudentError as err:
            out[source] = {"error": str(err)}
    return out


def _sequence(case):
    return case["x"], case["y"] if case["scalar"] else np.array([case["y"]])


def probe_lstm_forward(ns, inputs):
    def run():
        model = _lstm(ns, inputs)
        return [float(floats(call("forward(x, y)", model.forward, *_sequence(c)), "the loss")) for c in inputs["cases"]]
    return _with_each_gate(ns, run)


def probe_lstm_backward(ns, inputs):
    def run():
        model = _lstm(ns, inputs)
        out = {"grads": []}
        for case in inputs["cases"]:
            call("zero_grad()", model.zero_grad)
            call("forward(x, y)", model.forward, *_sequence(case))
            call("backward()", model.backward)
            out["grads"].append(read(model, [grad_name(n) for n in LSTM_PARAMS], "the LSTM after backward()"))
        for name, value in inputs["G"].items():
            put(model, grad_name(name), value)
        call(f"update({inputs['eta']:.3g})", model.update, inputs["eta"])
        out["updated"] = read(model, LSTM_PARAMS, "the LSTM after update")
        return out
    return _with_each_gate(ns, run)


# -- chapter 5 -------------------------------------------------------------------------------
def probe_rtrl(ns, inputs):
    cls = lookup(ns, "LSTM_RTRL")
    require_own(cls, "LSTM_RTRL")
    model = call(f"LSTM_RTRL(1, {inputs['I']}, 1)", cls, 1, inputs["I"], 1)
    out = {"initial": read(model, LSTM_PARAMS, "LSTM_RTRL after __init__"), "outputs": [], "losses": [], "grads": []}
    for name, value in inputs["weights"].items():
        put(model, name, value)
    for case in inputs["cases"]:
        if not hasattr(model, "reset"):
            raise StudentError("LSTM_RTRL needs a method reset() that starts a sequence (state and buffers to zero)")
        call("reset()", model.reset)
        call("zero_grad()", model.zero_grad)
        out["outputs"].append([floats(call("forward(x_t)", model.forward, x_t), "y_hat(t)") for x_t in case["x"]])
        y = case["y"] if case["scalar"] else np.array([case["y"]])
        out["losses"].append(float(floats(call("backward(y)", model.backward, y), "the loss returned by backward(y)")))
        out["grads"].append(read(model, [grad_name(n) for n in LSTM_PARAMS], "LSTM_RTRL after backward(y)"))
    for name, value in inputs["G"].items():
        put(model, grad_name(name), value)
    call(f"update({inputs['eta']:.3g})", model.update, inputs["eta"])
    out["updated"] = read(model, LSTM_PARAMS, "LSTM_RTRL after update")
    return out


# -- chapter 6 -------------------------------------------------------------------------------
def probe_count_weights(ns, inputs):
    fn = _function(ns, "count_weights")
    return {"counts": [float(floats(call(f"count_weights({c})", fn, c), "the count")) for c in inputs["cells"]]}


def probe_stopping_criteria(ns, inputs):
    fn = _function(ns, "stopping_criteria")
    out = []
    for case in inputs["cases"]:
        result = call("stopping_criteria(y_hat, y)", fn, case["y_hat"], case["y"])
        try:
            st1, st2 = (np.asarray(v) for v in result)
            if st1.shape != () or st2.shape != ():
                raise ValueError
            out.append([bool(st1), bool(st2)])
        except (TypeError, ValueError):
            raise StudentError(f"stopping_criteria must return two booleans (st1, st2); got {_describe(result)}") \
                from None
    return {"criteria": out}


PROBES = {
    "ex-generate-data": probe_generate_data,
    "ex-frn-backward": probe_frn_backward,
    "ex-frn-grad-check": probe_frn_grad_check,
    "ex-frn-update": probe_frn_update,
    "ex-jordan-jacobian": probe_jordan_jacobian,
    "ex-bounds": probe_bounds,
    "ex-gate": probe_gate,
    "ex-gate-backward": probe_gate_backward,
    "ex-lstm-forward": probe_lstm_forward,
    "ex-lstm-backward": probe_lstm_backward,
    "ex-rtrl-class": probe_rtrl,
    "ex-count-weights": probe_count_weights,
    "ex-stopping-criteria": probe_stopping_criteria,
}


def probe(exercise, ns, inputs):
    """Run the probe of ``exercise``: ``{"values": ...}``, ``{"unanswered": where}`` or ``{"error": message}``.

    See the *For instructors* page.
    """
    try:
        return {"values": PROBES[exercise](ns, inputs)}
    except Unanswered as err:
        return {"unanswered": str(err)}
    except StudentError as err:
        return {"error": str(err)}
