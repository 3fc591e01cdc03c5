#!/usr/bin/env bash
# Shows that `make` is not vacuous: each planted false or unfinished lemma
# below is added to a fresh copy of this directory, and the build of that
# copy must FAIL.  Exits 0 only if every plant is rejected.  Each false
# lemma uses the script that proves the true statement next to it (checked
# by hand when the plant was added), so it fails for the planted fault.
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

plant "the z- curvature of Eq. 14 is abar (abar beta + 2) (sign of the 2 flipped), 'proved' by ring" \
  OutputSaddle.v \
  'Lemma planted_wrong_curvature : forall alpha beta y a zp zm,
     derivable_pt_lim (fun z => eq15_2 (ls_grad beta y) alpha a zp z) zm
       (abar alpha * (abar alpha * beta + 2)).
   Proof.
     intros. unfold eq15_2, ls_grad, zbar, dlt.
     apply (dpl_ext (fun z => (abar alpha * beta * (alpha * zp - y) - alpha * zp + a
                               + abar alpha * zp) + z * (abar alpha * (abar alpha * beta + 2)))).
     { intro. unfold abar. ring. }
     apply dpl_affine.
   Qed.'

plant "Eq. 16 is a saddle of Eq. 14 without abar beta <= 2, 'proved' by nra" \
  OutputSaddle.v \
  'Lemma planted_saddle_any_beta : forall alpha beta y a zm,
     0 <= alpha <= 1 -> 0 <= beta ->
     J14 alpha beta y a (out_plus (ls_grad beta y) alpha a) zm
       <= J14 alpha beta y a (out_plus (ls_grad beta y) alpha a)
                             (out_minus (ls_grad beta y) alpha a).
   Proof.
     intros alpha beta y a zm Ha Hb.
     destruct (eq16_satisfies_eq15 (ls_grad beta y) alpha a) as [G1 G2].
     set (sp := out_plus (ls_grad beta y) alpha a) in *.
     set (sm := out_minus (ls_grad beta y) alpha a) in *.
     pose proof (J14_minus_expansion alpha beta y a sp sm (zm - sm)) as E.
     replace (sm + (zm - sm)) with zm in E by ring. rewrite G2 in E.
     assert (Hcm : abar alpha * (abar alpha * beta - 2) <= 0).
     { assert (0 <= abar alpha) by (unfold abar; lra). nra. }
     pose proof (pow2_ge_0 (zm - sm)). nra.
   Qed.'

plant "W^T taken untransposed satisfies the adjoint law, 'proved' as for matrices" Chain.v \
  'Definition planted_untransposed (m n : nat) (W : nat -> nat -> R) : Lin.
   Proof.
     refine {| din := n; dout := m; app := mat_app m n W;
               appT := fun u j => vsum m (fun i => W j i * u i) |}.
     - exact (mat_app_ext m n W).
     - exact (mat_app_lin m n W).
     - intros u v. unfold dot, mat_app.
       transitivity (vsum n (fun j => vsum m (fun i => W i j * u i * v j))).
       + apply vsum_ext. intro j. rewrite Rmult_comm, <- vsum_scal. apply vsum_ext.
         intro. ring.
       + rewrite vsum_swap. apply vsum_ext. intro i. rewrite <- vsum_scal.
         apply vsum_ext. intro. ring.
     - intros u v H j. apply vsum_ext. intro i. rewrite H. reflexivity.
     - intros. rewrite <- vsum_scal. apply vsum_ext. intro. ring.
   Defined.'

plant "Eq. 15 (+) with the sign of alpha delta flipped is the derivative of Eq. 14" \
  Objectives.v \
  'Lemma planted_eq15_sign : forall l lp alpha a zp zm,
     (forall z, derivable_pt_lim l z (lp z)) ->
     derivable_pt_lim (fun z => obj14 l alpha a z zm) zp
       (alpha * lp (zbar alpha zp zm) + zbar alpha zp zm - a - alpha * dlt zp zm).
   Proof.
     intros l lp alpha a zp zm Hl. unfold obj14, zbar, dlt.
     apply (dpl_val _ _ (lp (alpha * zp + abar alpha * zm) * alpha
                         + (1 * (alpha * zp + abar alpha * zm - a)
                            + (zp - zm) * alpha))); [ring|].
     apply dpl_plus.
     - apply (dpl_comp l lp (fun z => alpha * z + abar alpha * zm)); [exact Hl|].
       apply dpl_id_affine.
     - apply (dpl_mult (fun z => z - zm) (fun z => alpha * z + abar alpha * zm - a)).
       + apply dpl_sub_const. apply derivable_pt_lim_id.
       + apply dpl_sub_const. apply dpl_id_affine.
   Qed.'

plant "original DP at alpha = 1 keeps the feed-forward mean, 'proved' like DP+" OrigVsPlus.v \
  'Lemma planted_orig_mean_extreme : forall f a b, orig_mean f 1 a b = f a.
   Proof.
     intros. unfold orig_mean, orig_plus, orig_minus, zbar, abar.
     replace (a + 1 * b) with a by ring. ring.
   Qed.'

plant "excluded middle in a theorem outside AssumptionsClassical.v (the scoped allowlist)" \
  OrigVsPlus.v \
  'Require Import Classical.
   Lemma planted_classical : forall P : Prop, P \/ ~ P. Proof. exact classic. Qed.' \
  'Print Assumptions planted_classical.'

if [ "$status" = 0 ]; then
  echo "check-planted: OK, every planted lemma was rejected"
else
  echo "check-planted: FAILED, some planted lemma was accepted"
fi
exit "$status"
