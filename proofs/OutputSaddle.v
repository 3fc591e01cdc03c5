(** Well-posedness of the DP+ output problem, Eq. 14: a min over z+ and a
    max over z-.  For least squares l(z) = beta/2 (z - y)^2 the objective is
    quadratic with curvature alpha (alpha beta + 2) in z+ and
    abar (abar beta - 2) in z-.  Hence Eq. 16 (the unique solution of Eq. 15)
    is a saddle point exactly when abar beta <= 2 (for alpha in [0, 1]);
    for abar beta > 2 the max over z- does not exist for any z+.  At
    alpha = 1 the z- curvature vanishes (the objective is affine in z-), at
    alpha = 0 the z+ curvature vanishes (affine in z+): degenerate, yet
    Eq. 16 still solves Eq. 15 and is a (non-strict) saddle point when
    abar beta <= 2, i.e. for every beta > 0 at alpha = 1 but only for
    beta <= 2 at alpha = 0. *)
Require Import Reals Lra Psatz.
Require Import DualProp.Common DualProp.OutputLayer DualProp.BPGeneral
               DualProp.Objectives.
Open Scope R_scope.

(** Least squares with weight beta: l(z) = beta/2 (z - y)^2, l' = ls_grad. *)
Definition lsq_b (beta y : R) (z : R) : R := beta / 2 * (z - y) ^ 2.

Lemma lsq_b_derivative : forall beta y z,
  derivable_pt_lim (lsq_b beta y) z (ls_grad beta y z).
Proof.
  intros. unfold lsq_b, ls_grad.
  apply (dpl_ext (fun z => beta / 2 * ((z - y) * (z - y)))); [intro; ring|].
  apply (dpl_val _ _ (beta / 2 * (1 * (z - y) + (z - y) * 1))); [field|].
  apply dpl_scal.
  apply (dpl_mult (fun z => z - y) (fun z => z - y));
    apply dpl_sub_const; apply derivable_pt_lim_id.
Qed.

Definition J14 (alpha beta y a zp zm : R) : R := obj14 (lsq_b beta y) alpha a zp zm.

(** Curvatures (second partial derivatives): the derivative of the Eq. 15
    residuals, which are the first partial derivatives (Objectives.v). *)
Theorem curvature_plus : forall alpha beta y a zp zm,
  derivable_pt_lim (fun z => eq15_1 (ls_grad beta y) alpha a z zm) zp
    (alpha * (alpha * beta + 2)).
Proof.
  intros. unfold eq15_1, ls_grad, zbar, dlt.
  apply (dpl_ext (fun z => (alpha * beta * (abar alpha * zm - y) + abar alpha * zm - a
                            - alpha * zm) + z * (alpha * (alpha * beta + 2)))).
  { intro. unfold abar. ring. }
  apply dpl_affine.
Qed.

Theorem curvature_minus : forall alpha beta y a zp zm,
  derivable_pt_lim (fun z => eq15_2 (ls_grad beta y) alpha a zp z) zm
    (abar alpha * (abar alpha * beta - 2)).
Proof.
  intros. unfold eq15_2, ls_grad, zbar, dlt.
  apply (dpl_ext (fun z => (abar alpha * beta * (alpha * zp - y) - alpha * zp + a
                            + abar alpha * zp) + z * (abar alpha * (abar alpha * beta - 2)))).
  { intro. unfold abar. ring. }
  apply dpl_affine.
Qed.

(** The objective is exactly quadratic: Taylor expansions with the Eq. 15
    residuals as gradient and the curvatures above. *)
Lemma J14_plus_expansion : forall alpha beta y a zp zm h,
  J14 alpha beta y a (zp + h) zm
  = J14 alpha beta y a zp zm + h * eq15_1 (ls_grad beta y) alpha a zp zm
    + 1/2 * (alpha * (alpha * beta + 2)) * h ^ 2.
Proof. intros. unfold J14, obj14, lsq_b, eq15_1, ls_grad, zbar, dlt, abar. field. Qed.

Lemma J14_minus_expansion : forall alpha beta y a zp zm h,
  J14 alpha beta y a zp (zm + h)
  = J14 alpha beta y a zp zm + h * eq15_2 (ls_grad beta y) alpha a zp zm
    + 1/2 * (abar alpha * (abar alpha * beta - 2)) * h ^ 2.
Proof. intros. unfold J14, obj14, lsq_b, eq15_2, ls_grad, zbar, dlt, abar. field. Qed.

(** Eq. 16 is a saddle point of Eq. 14 (min over z+, max over z-) whenever
    alpha in [0, 1], beta >= 0 and abar beta <= 2: including the degenerate
    ends alpha in {0, 1} and the boundary abar beta = 2. *)
Theorem eq16_saddle : forall alpha beta y a zp zm,
  0 <= alpha <= 1 -> 0 <= beta -> abar alpha * beta <= 2 ->
  J14 alpha beta y a (out_plus (ls_grad beta y) alpha a) zm
    <= J14 alpha beta y a (out_plus (ls_grad beta y) alpha a)
                          (out_minus (ls_grad beta y) alpha a) /\
  J14 alpha beta y a (out_plus (ls_grad beta y) alpha a)
                     (out_minus (ls_grad beta y) alpha a)
    <= J14 alpha beta y a zp (out_minus (ls_grad beta y) alpha a).
Proof.
  intros alpha beta y a zp zm Ha Hb H2.
  destruct (eq16_satisfies_eq15 (ls_grad beta y) alpha a) as [G1 G2].
  set (sp := out_plus (ls_grad beta y) alpha a) in *.
  set (sm := out_minus (ls_grad beta y) alpha a) in *.
  assert (Hcp : 0 <= alpha * (alpha * beta + 2)).
  { assert (0 <= alpha * beta) by (apply Rmult_le_pos; lra).
    apply Rmult_le_pos; lra. }
  assert (Hcm : abar alpha * (abar alpha * beta - 2) <= 0).
  { assert (0 <= abar alpha) by (unfold abar; lra). nra. }
  split.
  - pose proof (J14_minus_expansion alpha beta y a sp sm (zm - sm)) as E.
    replace (sm + (zm - sm)) with zm in E by ring. rewrite G2 in E.
    pose proof (pow2_ge_0 (zm - sm)). nra.
  - pose proof (J14_plus_expansion alpha beta y a sp sm (zp - sp)) as E.
    replace (sp + (zp - sp)) with zp in E by ring. rewrite G1 in E.
    pose proof (pow2_ge_0 (zp - sp)). nra.
Qed.

(** For alpha in (0, 1) and abar beta < 2 the saddle point is strict: any
    other z- gives a strictly smaller value, any other z+ a strictly larger one. *)
Theorem eq16_strict_saddle : forall alpha beta y a zp zm,
  0 < alpha < 1 -> 0 <= beta -> abar alpha * beta < 2 ->
  (zm <> out_minus (ls_grad beta y) alpha a ->
   J14 alpha beta y a (out_plus (ls_grad beta y) alpha a) zm
   < J14 alpha beta y a (out_plus (ls_grad beta y) alpha a)
                        (out_minus (ls_grad beta y) alpha a)) /\
  (zp <> out_plus (ls_grad beta y) alpha a ->
   J14 alpha beta y a (out_plus (ls_grad beta y) alpha a)
                      (out_minus (ls_grad beta y) alpha a)
   < J14 alpha beta y a zp (out_minus (ls_grad beta y) alpha a)).
Proof.
  intros alpha beta y a zp zm Ha Hb H2.
  destruct (eq16_satisfies_eq15 (ls_grad beta y) alpha a) as [G1 G2].
  set (sp := out_plus (ls_grad beta y) alpha a) in *.
  set (sm := out_minus (ls_grad beta y) alpha a) in *.
  assert (Hcp : 0 < alpha * (alpha * beta + 2)).
  { assert (0 <= alpha * beta) by (apply Rmult_le_pos; lra).
    apply Rmult_lt_0_compat; lra. }
  assert (Hcm : abar alpha * (abar alpha * beta - 2) < 0).
  { assert (0 < abar alpha) by (unfold abar; lra).
    assert (0 < abar alpha * (2 - abar alpha * beta)) by (apply Rmult_lt_0_compat; lra).
    lra. }
  split; intro Hne.
  - pose proof (J14_minus_expansion alpha beta y a sp sm (zm - sm)) as E.
    replace (sm + (zm - sm)) with zm in E by ring. rewrite G2 in E.
    assert (0 < (zm - sm) ^ 2).
    { replace ((zm - sm) ^ 2) with (Rsqr (zm - sm)) by (unfold Rsqr; ring).
      apply Rsqr_pos_lt. lra. }
    nra.
  - pose proof (J14_plus_expansion alpha beta y a sp sm (zp - sp)) as E.
    replace (sp + (zp - sp)) with zp in E by ring. rewrite G1 in E.
    assert (0 < (zp - sp) ^ 2).
    { replace ((zp - sp) ^ 2) with (Rsqr (zp - sp)) by (unfold Rsqr; ring).
      apply Rsqr_pos_lt. lra. }
    nra.
Qed.

(** A quadratic with positive leading coefficient, or a non-constant affine
    function, exceeds every bound. *)
Lemma quad_unbounded : forall A B C M, 0 < C -> exists h, A + B * h + C * h ^ 2 > M.
Proof.
  intros A B C M HC.
  set (h := 1 + (Rabs (M - A) + Rabs B) / C).
  exists h.
  pose proof (Rabs_pos (M - A)). pose proof (Rabs_pos B).
  assert (Hq : 0 <= (Rabs (M - A) + Rabs B) / C).
  { unfold Rdiv. apply Rmult_le_pos; [lra|]. left. apply Rinv_0_lt_compat. exact HC. }
  assert (Hh : 1 <= h) by (unfold h; lra).
  assert (Hch : C * h = C + Rabs (M - A) + Rabs B) by (unfold h; field; lra).
  assert (HB : - Rabs B <= B).
  { pose proof (Rle_abs (- B)). rewrite Rabs_Ropp in H1. lra. }
  assert (HM : M - A <= Rabs (M - A)) by apply RRle_abs.
  assert (E : C * h ^ 2 = h * (C + Rabs (M - A) + Rabs B)) by (rewrite <- Hch; ring).
  assert (HBh : - Rabs B * h <= B * h) by nra.
  assert (Hp : 0 <= (h - 1) * (C + Rabs (M - A))) by (apply Rmult_le_pos; lra).
  nra.
Qed.

Lemma lin_unbounded : forall A B M, B <> 0 -> exists h, A + B * h > M.
Proof.
  intros A B M HB. exists ((M - A + 1) / B).
  replace (A + B * ((M - A + 1) / B)) with (M + 1) by (field; exact HB). lra.
Qed.

(** abar beta > 2: for every z+ the objective is unbounded above in z-, so
    the inner max of Eq. 14 does not exist (curvature abar (abar beta - 2) > 0). *)
Theorem eq14_no_max_when_abar_beta_gt_2 : forall alpha beta y a zp M,
  0 <= beta -> abar alpha * beta > 2 ->
  exists zm, J14 alpha beta y a zp zm > M.
Proof.
  intros alpha beta y a zp M Hb H2.
  assert (Hab : 0 < abar alpha).
  { destruct (Rle_or_lt (abar alpha) 0) as [H|H]; [|exact H]. nra. }
  assert (HC : 0 < 1/2 * (abar alpha * (abar alpha * beta - 2))).
  { apply Rmult_lt_0_compat; [lra|]. apply Rmult_lt_0_compat; lra. }
  destruct (quad_unbounded (J14 alpha beta y a zp 0)
              (eq15_2 (ls_grad beta y) alpha a zp 0) _ M HC) as [h Hh].
  exists (0 + h). rewrite J14_minus_expansion. nra.
Qed.

(** Degenerate ends.  alpha = 1: the objective is affine in z- with slope
    a - z+ (zero curvature), so the inner max exists only at z+ = a, which
    is Eq. 16's z+ (abar = 0); every z- is then a maximiser and Eq. 16 picks
    z- = a + l'(a), the one solving Eq. 15. *)
Lemma J14_alpha_one_affine : forall beta y a zp zm h,
  J14 1 beta y a zp (zm + h) = J14 1 beta y a zp zm + h * (a - zp).
Proof. intros. unfold J14, obj14, lsq_b, zbar, dlt, abar. ring. Qed.

Theorem eq14_alpha_one_degenerate : forall beta y a zp,
  (zp <> a -> forall M, exists zm, J14 1 beta y a zp zm > M) /\
  (zp = a -> forall zm zm', J14 1 beta y a zp zm = J14 1 beta y a zp zm') /\
  out_plus (ls_grad beta y) 1 a = a /\
  abar 1 * (abar 1 * beta - 2) = 0.
Proof.
  intros beta y a zp. split; [|split; [|split]].
  - intros Hne M. destruct (lin_unbounded (J14 1 beta y a zp 0) (a - zp) M) as [h Hh].
    { lra. }
    exists (0 + h). rewrite J14_alpha_one_affine. lra.
  - intros Heq zm zm'. replace zm' with (zm + (zm' - zm)) by ring.
    rewrite J14_alpha_one_affine, Heq. ring.
  - unfold out_plus, abar. ring.
  - unfold abar. ring.
Qed.

(** alpha = 0: the objective is affine in z+ with slope z- - a (zero
    curvature), so the outer min exists only at z- = a, which is Eq. 16's
    z- (alpha = 0); the z- curvature is then beta - 2, so the saddle of
    [eq16_saddle] needs beta <= 2 (for beta > 2 no max over z- exists,
    [eq14_no_max_when_abar_beta_gt_2]). *)
Lemma J14_alpha_zero_affine : forall beta y a zp zm h,
  J14 0 beta y a (zp + h) zm = J14 0 beta y a zp zm + h * (zm - a).
Proof. intros. unfold J14, obj14, lsq_b, zbar, dlt, abar. ring. Qed.

Theorem eq14_alpha_zero_degenerate : forall beta y a zm,
  (zm <> a -> forall M, exists zp, J14 0 beta y a zp zm < M) /\
  (zm = a -> forall zp zp', J14 0 beta y a zp zm = J14 0 beta y a zp' zm) /\
  out_minus (ls_grad beta y) 0 a = a /\
  0 * (0 * beta + 2) = 0 /\
  abar 0 * (abar 0 * beta - 2) = beta - 2.
Proof.
  intros beta y a zm. split; [|split; [|split; [|split]]].
  - intros Hne M.
    destruct (lin_unbounded (- J14 0 beta y a 0 zm) (- (zm - a)) (- M)) as [h Hh].
    { lra. }
    exists (0 + h). rewrite J14_alpha_zero_affine. lra.
  - intros Heq zp zp'. replace zp' with (zp + (zp' - zp)) by ring.
    rewrite J14_alpha_zero_affine, Heq. ring.
  - unfold out_minus. ring.
  - ring.
  - unfold abar. ring.
Qed.

(** Any twice-differentiable loss (e.g. cross-entropy, l'' = beta p (1 - p)
    for a logistic output): the curvatures are alpha (alpha l''(zbar) + 2)
    in z+ and abar (abar l''(zbar) - 2) in z-, so the z- problem is concave
    wherever abar l''(zbar) <= 2. *)
Theorem curvature_plus_general : forall lp lpp alpha a zp zm,
  (forall z, derivable_pt_lim lp z (lpp z)) ->
  derivable_pt_lim (fun z => eq15_1 lp alpha a z zm) zp
    (alpha * (alpha * lpp (zbar alpha zp zm) + 2)).
Proof.
  intros lp lpp alpha a zp zm H. unfold eq15_1, zbar, dlt.
  apply (dpl_val _ _ ((alpha * (lpp (alpha * zp + abar alpha * zm) * alpha) + alpha)
                      - 0 + alpha * (1 - 0))); [ring|].
  apply dpl_plus; [apply dpl_minus; [apply dpl_plus|]|].
  - apply dpl_scal. apply (dpl_comp lp lpp (fun z => alpha * z + abar alpha * zm)); [exact H|].
    apply dpl_id_affine.
  - apply dpl_id_affine.
  - apply derivable_pt_lim_const.
  - apply dpl_scal. apply (dpl_val _ _ 1); [ring|]. apply dpl_sub_const.
    apply derivable_pt_lim_id.
Qed.

Theorem curvature_minus_general : forall lp lpp alpha a zp zm,
  (forall z, derivable_pt_lim lp z (lpp z)) ->
  derivable_pt_lim (fun z => eq15_2 lp alpha a zp z) zm
    (abar alpha * (abar alpha * lpp (zbar alpha zp zm) - 2)).
Proof.
  intros lp lpp alpha a zp zm H. unfold eq15_2, zbar, dlt.
  apply (dpl_val _ _ ((abar alpha * (lpp (alpha * zp + abar alpha * zm) * abar alpha)
                       - abar alpha) + 0 + abar alpha * (-1))); [ring|].
  apply dpl_plus; [apply dpl_plus; [apply dpl_minus|]|].
  - apply dpl_scal. apply (dpl_comp lp lpp (fun z => alpha * zp + abar alpha * z)); [exact H|].
    apply dpl_c_lin.
  - apply dpl_c_lin.
  - apply derivable_pt_lim_const.
  - apply dpl_scal. apply dpl_c_minus.
Qed.

(** * Any twice-differentiable loss (scalar output): a saddle by the mean value theorem. *)

(** If g' has derivative g'' <= 0 everywhere and g'(s) = 0, then s maximises g. *)
Lemma max_of_concave : forall g g' g'' s z,
  (forall x, derivable_pt_lim g x (g' x)) -> (forall x, derivable_pt_lim g' x (g'' x)) ->
  (forall x, g'' x <= 0) -> g' s = 0 -> g z <= g s.
Proof.
  intros g g' g'' s z Hg Hg' Hc Hs.
  destruct (Rtotal_order z s) as [Hlt|[Heq|Hgt]].
  - destruct (MVT_cor2 g g' z s Hlt (fun c _ => Hg c)) as [c [Ec Hcz]].
    assert (Hc0 : 0 <= g' c).
    { destruct (MVT_cor2 g' g'' c s (proj2 Hcz) (fun d _ => Hg' d)) as [d [Ed _]].
      pose proof (Hc d). assert (0 <= s - c) by lra.
      assert (g'' d * (s - c) <= 0) by nra. lra. }
    assert (0 <= g' c * (s - z)) by (apply Rmult_le_pos; lra). lra.
  - subst. lra.
  - destruct (MVT_cor2 g g' s z Hgt (fun c _ => Hg c)) as [c [Ec Hcz]].
    assert (Hc0 : g' c <= 0).
    { destruct (MVT_cor2 g' g'' s c (proj1 Hcz) (fun d _ => Hg' d)) as [d [Ed _]].
      pose proof (Hc d). assert (0 <= c - s) by lra.
      assert (g'' d * (c - s) <= 0) by nra. lra. }
    assert (g' c * (z - s) <= 0).
    { assert (0 <= z - s) by lra. nra. }
    lra.
Qed.

(** Eq. 16 is a saddle point of Eq. 14 for any loss l with l' and l''
    whose curvature conditions hold everywhere: abar l'' <= 2 (concave in
    z-) and alpha l'' >= -2 (convex in z+; true for any convex loss).
    E.g. the logistic cross-entropy beta (log(1 + e^z) - y z) has
    l'' = beta p (1 - p) <= beta/4, so abar beta <= 8 suffices (the bound on
    l'' is not proved here). *)
Theorem eq16_saddle_general : forall l lp lpp alpha a zp zm,
  (forall z, derivable_pt_lim l z (lp z)) -> (forall z, derivable_pt_lim lp z (lpp z)) ->
  0 <= alpha <= 1 ->
  (forall z, abar alpha * lpp z <= 2) -> (forall z, - 2 <= alpha * lpp z) ->
  obj14 l alpha a (out_plus lp alpha a) zm
    <= obj14 l alpha a (out_plus lp alpha a) (out_minus lp alpha a) /\
  obj14 l alpha a (out_plus lp alpha a) (out_minus lp alpha a)
    <= obj14 l alpha a zp (out_minus lp alpha a).
Proof.
  intros l lp lpp alpha a zp zm Hl Hlp Ha Hm Hp.
  destruct (eq16_satisfies_eq15 lp alpha a) as [G1 G2].
  set (sp := out_plus lp alpha a) in *. set (sm := out_minus lp alpha a) in *.
  split.
  - apply (max_of_concave (fun z => obj14 l alpha a sp z) (fun z => eq15_2 lp alpha a sp z)
             (fun z => abar alpha * (abar alpha * lpp (zbar alpha sp z) - 2))).
    + intro x. apply eq15_2_is_derivative. exact Hl.
    + intro x. apply curvature_minus_general. exact Hlp.
    + intro x. assert (0 <= abar alpha) by (unfold abar; lra).
      pose proof (Hm (zbar alpha sp x)). nra.
    + exact G2.
  - (* the min over z+ is the max of -J *)
    assert (H : - obj14 l alpha a zp sm <= - obj14 l alpha a sp sm).
    { apply (max_of_concave (fun z => - obj14 l alpha a z sm)
               (fun z => - eq15_1 lp alpha a z sm)
               (fun z => - (alpha * (alpha * lpp (zbar alpha z sm) + 2)))).
      + intro x. apply derivable_pt_lim_opp. apply eq15_1_is_derivative. exact Hl.
      + intro x. apply derivable_pt_lim_opp. apply curvature_plus_general. exact Hlp.
      + intro x. pose proof (Hp (zbar alpha x sm)). nra.
      + rewrite G1. ring. }
    lra.
Qed.
