#!/usr/bin/env bash
# Shows that `make` is not vacuous: each planted false or unfinished lemma
# below is added to a fresh copy of this directory, and the build of that
# copy must FAIL.  Exits 0 only if every plant is rejected.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
status=0

# plant NAME FILE TEXT [ASSUMPTIONS-LINE]: append TEXT to FILE (and
# optionally a line to Assumptions.v) in a copy, build, expect failure.
plant() {
  local name="$1" file="$2" text="$3" extra="${4:-}"
  local tmp; tmp="$(mktemp -d)"
  cp -r "$here/." "$tmp/"
  make -s -C "$tmp" clean >/dev/null 2>&1
  printf '\n%s\n' "$text" >> "$tmp/$file"
  if [ -n "$extra" ]; then printf '%s\n' "$extra" >> "$tmp/Assumptions.v"; fi
  if make -s -C "$tmp" > "$tmp/planted.log" 2>&1; then
    echo "PLANT ACCEPTED (bad): $name"
    status=1
  else
    echo "planted lemma rejected (good): $name"
    grep -m1 -E 'Error|error|non-standard' "$tmp/planted.log" | sed 's/^/    /'
  fi
  rm -rf "$tmp"
}

plant "1 = 2 over R, 'proved' by lra" OrigVsPlus.v \
  'Lemma planted_one_eq_two : (1 = 2)%R. Proof. lra. Qed.'

plant "printed Eq. 21 sign satisfies the Eq. 20 KKT condition, 'proved' by ring" \
  LeCunChain.v \
  'Lemma planted_printed_sign_kkt : forall alpha f (W : Lin) (a Dn dn : Vec),
     let b := appT W (fun i => Dn i * (-1 * dn i)) in
     kkt_hidden alpha f W a (fun i => f (a i) + abar alpha * b i)
                            (fun i => f (a i) - alpha * b i) Dn dn.
   Proof. intros. split; intro i; unfold b, zbar, abar; ring. Qed.'

plant "Eq. 16 with the alpha/abar roles swapped satisfies Eq. 15, 'proved' by field" \
  OutputLayer.v \
  'Lemma planted_swapped_eq16 : forall lp alpha a,
     eq15_1 lp alpha a (a - alpha * lp a) (a + abar alpha * lp a) = 0.
   Proof. intros. unfold eq15_1, zbar, dlt, abar. field. Qed.'

plant "1 = 2 left unfinished (the forbidden-word check)" OrigVsPlus.v \
  'Lemma planted_unfinished : (1 = 2)%R. Proof. Admitted.'

plant "1 = 2 from a top-level Context (the Print Assumptions check)" OrigVsPlus.v \
  'Context (planted_hyp : (1 = 2)%R).
   Lemma planted_from_context : (1 = 2)%R. Proof. exact planted_hyp. Qed.' \
  'Print Assumptions planted_from_context.'

if [ "$status" = 0 ]; then
  echo "check-planted: OK, every planted lemma was rejected"
else
  echo "check-planted: FAILED, some planted lemma was accepted"
fi
exit "$status"
