"""What XLA makes of the JAX peer's training steps: a summary of their compiled (optimised) HLO.

Builds the peer's jit-compiled steps (jax_peer.Setup, so exactly the functions `dualprop perf` times) for
back-propagation and DP+ K=1 (alpha 0, beta 1/2, up-down) at the paper's shapes (784-1000x4-10, ReLU, least squares,
batch 100, f32), lowers and compiles them (nothing is run), and prints for each:
  - the fusions, grouped by what each computes (its root as an expression over its parameters p0, p1, ...);
  - every dot: what executes it (a __ynn_fusion is handed to YNNPACK by XLA's YnnFusionThunk; a bare `dot` goes to
    XLA's DotThunk, an Eigen contraction; a custom-call names its target), shapes, which operand is transposed,
    layouts, the producers of its operands, and the multiply-adds;
  - copies and transposes, and how many copies remain when the parameters are not donated;
  - the parallel partitions XLA gave its loop fusions.
Then the process's XLA threads, and XLA's CPU flags with their defaults (from `XLA_FLAGS=--help` in a subprocess).

Run (a few seconds; opt-in, outside CI):
    /work/runs/peers-venv/bin/python benches/peers/jax_hlo.py [--dump DIR]
--dump DIR writes each step's optimised HLO to DIR/<estimator>.hlo and XLA's own dump (LLVM IR of the loop fusions
included) to DIR/xla, and tallies the vector types in the steps' optimised LLVM IR. DIR is not committed.
"""

import argparse
import collections
import glob
import os
import re
import subprocess
import sys

parser = argparse.ArgumentParser(description="Summarise the compiled HLO of the JAX peer's training steps.")
parser.add_argument("--dump", metavar="DIR", help="write the optimised HLO (and XLA's dump) to DIR")
args = parser.parse_args()
if args.dump:  # must be set before jax is imported (jax_peer imports it)
    os.makedirs(args.dump, exist_ok=True)
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_dump_to={os.path.join(args.dump, 'xla')}"

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # importing jax_peer leaves no __pycache__ in the tree
import jax  # noqa: E402
import jaxlib  # noqa: E402

import jax_peer  # noqa: E402

WIDTHS = [784, 1000, 1000, 1000, 1000, 10]
SETUPS = {
    "back_propagation": {"estimator": "back_propagation"},
    "dp_plus": {"estimator": "dp_plus", "alpha": 0.0, "beta": 0.5, "k": 1},
}
INSTR = re.compile(r"^\s*(?:ROOT )?%(\S+) = (\w+\[[\d,]*\](?:\{[\d,]*\})?|\(.*\)) ([\w-]+)\((.*?)\)(.*)$")
SHORT = {"multiply": "mul", "subtract": "sub", "divide": "div", "maximum": "max", "compare": "cmp"}


def parse(text):
    """{computation: {instruction: (type, opcode, operands, attributes)}}, {computation: its root}, the entry."""
    comps, roots, entry, cur = {}, {}, None, None
    for line in text.splitlines():
        head = re.match(r"^(ENTRY )?%(\S+) \(.*\{$", line)
        if head:
            cur_name, cur = head.group(2), comps.setdefault(head.group(2), {})
            entry = head.group(2) if head.group(1) else entry
        elif line.startswith("}"):
            cur = None
        elif cur is not None and (m := INSTR.match(line)):
            name, typ, op, operands, attrs = m.groups()
            cur[name] = (typ, op, [o.strip().lstrip("%") for o in operands.split(",") if o.strip()], attrs)
            if line.lstrip().startswith("ROOT"):
                roots[cur_name] = name
    return comps, roots, entry


def shape(typ):
    return [int(d) for d in re.search(r"\[([\d,]*)\]", typ).group(1).split(",") if d]


def layout(typ):
    m = re.search(r"\{([\d,]*)\}", typ)
    return {"1,0": "row-major", "0,1": "column-major"}.get(m.group(1), m.group(1)) if m else "-"


def expr(comp, name):
    """The instruction as an expression over the computation's parameters (broadcasts elided)."""
    typ, op, operands, attrs = comp[name]
    if op == "parameter":
        return "p" + operands[0]
    if op == "constant":
        return operands[0] if operands else "c"
    if op in ("broadcast", "bitcast", "reshape", "convert"):
        return expr(comp, operands[0])
    inner = ", ".join(expr(comp, o) for o in operands)
    if op == "compare":
        inner += ", " + re.search(r"direction=(\w+)", attrs).group(1)
    if op in ("reduce", "reduce-window"):
        reduced = re.search(r"(dimensions=\{[\d,]*\}|window=\{[^}]*\})", attrs).group(1)
        inner = f"{expr(comp, operands[0])}, {reduced}"
    return f"{SHORT.get(op, op)}({inner})"


def called(comps, attrs):
    name = re.search(r"calls=%(\S+?),?\s", attrs + " ").group(1)
    return name, comps[name]


def dots(comps, entry):
    """Every dot of the step: (executor, dot instruction, its computation, the entry instruction that runs it)."""
    out = []
    for name, (typ, op, operands, attrs) in comps[entry].items():
        if op == "dot":
            out.append(("Eigen (DotThunk)", name, comps[entry], name))
        elif op == "fusion":
            _, comp = called(comps, attrs)
            for inner, (_, iop, _, _) in comp.items():
                if iop == "dot":
                    kind = re.search(r'"kind":"(\w+)"', attrs)
                    kind = kind.group(1) if kind else re.search(r"kind=(\w+)", attrs).group(1)
                    via = "YNNPACK (__ynn_fusion)" if kind == "__ynn_fusion" else f"fusion {kind}"
                    out.append((via, inner, comp, name))
        elif op == "custom-call":
            out.append((re.search(r'custom_call_target="([^"]+)"', attrs).group(1), name, comps[entry], name))
    return out


def summarise(label, text, text_plain):
    comps, roots, entry = parse(text)
    top = comps[entry]
    ops = collections.Counter(op for _, op, _, _ in top.values())
    print(f"\n== {label}: {len(top)} instructions in the entry; " + ", ".join(f"{n} {o}" for o, n in ops.most_common()))

    macs = 0
    print("dots (lhs x rhs -> out, as matrices; layouts lhs, rhs -> out; operands' producers):")
    for via, name, comp, runner in dots(comps, entry):
        typ, _, (lhs, rhs), attrs = comp[name]
        lc = re.search(r"lhs_contracting_dims=\{(\d)\}", attrs).group(1)
        rc = re.search(r"rhs_contracting_dims=\{(\d)\}", attrs).group(1)
        form = ("A^T" if lc == "0" else "A") + " " + ("B^T" if rc == "1" else "B")
        ls, rs, os_ = shape(comp[lhs][0]), shape(comp[rhs][0]), shape(typ)
        macs += os_[0] * os_[1] * ls[int(lc)]
        producers = top[runner][2] if runner != name else [lhs, rhs]
        print(
            f"  {via:24} {form:7} {ls} x {rs} -> {os_}  {layout(comp[lhs][0])}, {layout(comp[rhs][0])} -> "
            f"{layout(typ)}  <- {', '.join(producers[:2])}"
        )
    print(f"  {len(dots(comps, entry))} dots, {macs:.3e} multiply-adds")

    groups = collections.defaultdict(list)
    for name, (typ, op, operands, attrs) in top.items():
        if op != "fusion":
            continue
        kind = re.search(r"kind=(\w+)", attrs).group(1)
        ynn = re.search(r'"kind":"(\w+)"', attrs)
        cname, comp = called(comps, attrs)
        parts = re.search(r'"outer_dimension_partitions":\["(\d+)"\]', attrs)
        key = (kind + (f"/{ynn.group(1)}" if ynn else ""), str(shape(typ)), expr(comp, roots[cname])[:200])
        groups[key].append(f"{name}{'|' + parts.group(1) if parts else ''}")
    print(f"fusions: {sum(len(v) for v in groups.values())} (name|n = split into n parallel partitions)")
    for (kind, shp, e), names in sorted(groups.items()):
        print(f"  {len(names):2}x {kind:20} {shp:12} {e}\n       {' '.join(names)}")

    copies = [f"{n}: {shape(t)} of {o[0]}" for n, (t, op, o, _) in top.items() if op in ("copy", "transpose")]
    plain_comps, _, plain_entry = parse(text_plain)
    plain = sum(op in ("copy", "transpose") for _, op, _, _ in plain_comps[plain_entry].values())
    print(f"copies/transposes in the entry: {copies or 'none'}; compiled without donation: {plain}")
    layouts = {layout(t) for comp in comps.values() for t, *_ in comp.values() if "[" in t and len(shape(t)) == 2}
    print(f"layouts of all rank-2 values: {sorted(layouts)}")


def xla_threads_and_flags():
    names = collections.Counter(open(f"/proc/self/task/{t}/comm").read().strip() for t in os.listdir("/proc/self/task"))
    print(f"\nthreads of this process: {dict(names)} (tf_XLAEigen = XLA's intra-op pool); CPUs: {os.cpu_count()}")
    # XLA prints every flag with its default when asked for --help (and then aborts); keep the CPU backend's.
    env = dict(os.environ, XLA_FLAGS="--help")
    run = subprocess.run([sys.executable, "-c", "import jax; jax.devices()"], env=env, capture_output=True, text=True)
    wanted = ("multi_thread_eigen", "use_xnnpack", "ynn_fusion_type", "xnn_fusion_type", "use_onednn", "onednn_fusion",
              "prefer_vector_width", "max_isa", "enable_fast_math", "use_fusion_emitters")
    print("XLA's CPU flags and their defaults (JAX may override some: see the dump's debug_options):")
    for line in run.stderr.splitlines():
        flag = line.split("\t")[1].strip() if line.startswith("\t--xla_cpu_") else ""
        if any(w in flag.split("=")[0] for w in wanted):
            print("  " + flag)


def main():
    print(f"jax {jax.__version__}, jaxlib {jaxlib.__version__}, backend {jax.default_backend()}, "
          f"widths {WIDTHS}, batch 100, f32")
    for label, extra in SETUPS.items():
        s = jax_peer.Setup({**extra, "widths": WIDTHS, "batch": 100, "dtype": "f32"})
        step_args = (s.params, s.m, s.v, s.t, s.x, s.y)
        text = s.step_fn.lower(*step_args).compile().as_text()
        # The same step without donating params, m and v: shows which copies the input/output aliasing costs.
        text_plain = jax.jit(s.step_fn.__wrapped__).lower(*step_args).compile().as_text()
        if args.dump:
            with open(os.path.join(args.dump, f"{label}.hlo"), "w") as f:
                f.write(text)
        summarise(f"{label} {extra}", text, text_plain)
    xla_threads_and_flags()
    if args.dump:
        widths = collections.Counter()
        for path in glob.glob(os.path.join(args.dump, "xla", "*jit_step*ir-with-opt.ll")):
            widths.update(re.findall(r"<\d+ x (?:float|double)>", open(path).read()))
        print(f"vector types in the steps' optimised LLVM IR (loop fusions): {dict(widths)}")
        for path in sorted(glob.glob(os.path.join(args.dump, "xla", "*jit_step.debug_options")))[:1]:
            print("options this compile set away from XLA's defaults:", open(path).read().replace("\n", "; "))


if __name__ == "__main__":
    main()
