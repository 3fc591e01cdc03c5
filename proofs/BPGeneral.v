(** Back-propagation is the derivative of the loss, for general linear
    layers (any [Lin] with the adjoint law: matrices of any shapes, scalars)
    and any differentiable activation f with derivative f'.  Hence the
    settled Eq. 21 estimate (any f) and the DP+ estimate (identity f, Eq. 8
    and Eq. 16) are that derivative too, for every alpha and beta > 0.

    Uses [functional_extensionality] to identify the input vector at t = 0;
    every theorem of this development already depends on that axiom through
    the standard library's construction of R (see Assumptions.v), so no
    assumption is added. *)
Require Import Reals Lra Lia List FunctionalExtensionality.
Require Import DualProp.Common DualProp.Chain DualProp.DPPlusChain
               DualProp.LeCunChain.
Import ListNotations.
Open Scope R_scope.

(** * Derivative helpers on top of the standard library's [derivable_pt_lim]. *)

Lemma dpl_ext : forall f g x l, (forall t, f t = g t) ->
  derivable_pt_lim f x l -> derivable_pt_lim g x l.
Proof.
  intros f g x l H Hf eps Heps. destruct (Hf eps Heps) as [d Hd].
  exists d. intros h Hh0 Hh. rewrite <- !H. apply Hd; assumption.
Qed.

Lemma dpl_val : forall f x l l', l = l' ->
  derivable_pt_lim f x l -> derivable_pt_lim f x l'.
Proof. intros; subst; assumption. Qed.

Lemma dpl_plus : forall f g x lf lg,
  derivable_pt_lim f x lf -> derivable_pt_lim g x lg ->
  derivable_pt_lim (fun t => f t + g t) x (lf + lg).
Proof. intros. apply (derivable_pt_lim_plus f g x lf lg); assumption. Qed.

Lemma dpl_mult : forall f g x lf lg,
  derivable_pt_lim f x lf -> derivable_pt_lim g x lg ->
  derivable_pt_lim (fun t => f t * g t) x (lf * g x + f x * lg).
Proof. intros. apply (derivable_pt_lim_mult f g x lf lg); assumption. Qed.

Lemma dpl_scal : forall c f x l, derivable_pt_lim f x l ->
  derivable_pt_lim (fun t => c * f t) x (c * l).
Proof. intros. apply (derivable_pt_lim_scal f c x l); assumption. Qed.

Lemma dpl_mult_const_r : forall c f x l, derivable_pt_lim f x l ->
  derivable_pt_lim (fun t => f t * c) x (l * c).
Proof.
  intros. apply (dpl_val _ _ (l * c + f x * 0)); [ring|].
  apply (dpl_mult f (fun _ => c)); [assumption | apply derivable_pt_lim_const].
Qed.

Lemma dpl_sub_const : forall c f x l, derivable_pt_lim f x l ->
  derivable_pt_lim (fun t => f t - c) x l.
Proof.
  intros. apply (dpl_val _ _ (l - 0)); [ring|].
  apply (derivable_pt_lim_minus f (fun _ => c)); [assumption | apply derivable_pt_lim_const].
Qed.

Lemma dpl_affine : forall c d x, derivable_pt_lim (fun t => c + t * d) x d.
Proof.
  intros. apply (dpl_val _ _ (0 + 1 * d)); [ring|].
  apply dpl_plus; [apply derivable_pt_lim_const|].
  apply dpl_mult_const_r. apply derivable_pt_lim_id.
Qed.

(** Chain rule with an everywhere-differentiable outer function. *)
Lemma dpl_comp : forall f fp g x l, (forall z, derivable_pt_lim f z (fp z)) ->
  derivable_pt_lim g x l -> derivable_pt_lim (fun t => f (g t)) x (fp (g x) * l).
Proof. intros. apply (derivable_pt_lim_comp g f x l (fp (g x))); auto. Qed.

(** Finite sums of differentiable curves. *)
Lemma dpl_vsum : forall n (g : R -> nat -> R) (dg : nat -> R) t0,
  (forall i, (i < n)%nat -> derivable_pt_lim (fun t => g t i) t0 (dg i)) ->
  derivable_pt_lim (fun t => vsum n (g t)) t0 (vsum n dg).
Proof.
  induction n; intros g dg t0 H; simpl.
  - apply derivable_pt_lim_const.
  - apply (dpl_plus (fun t => vsum n (g t)) (fun t => g t n)).
    + apply IHn. intros. apply H. lia.
    + apply H. lia.
Qed.

(** * A linear layer is its matrix: W v = sum_j v_j W e_j on the first dout entries. *)

Definition basis (j : nat) : Vec := fun k => if Nat.eq_dec k j then 1 else 0.

Lemma vsum_basis : forall n (v : Vec) k,
  vsum n (fun j => v j * basis j k) = if lt_dec k n then v k else 0.
Proof.
  induction n; intros v k; simpl.
  - destruct (lt_dec k 0); [lia | reflexivity].
  - rewrite IHn. unfold basis.
    destruct (Nat.eq_dec k n); destruct (lt_dec k n); destruct (lt_dec k (S n));
      subst; try lia; ring.
Qed.

Lemma vsum_pick : forall n (v : Vec) q,
  vsum n (fun j => v j * basis q j) = if lt_dec q n then v q else 0.
Proof.
  intros. rewrite <- vsum_basis. apply vsum_ext. intro j. unfold basis.
  destruct (Nat.eq_dec j q); destruct (Nat.eq_dec q j); subst; try reflexivity;
    exfalso; auto.
Qed.

Lemma app_zero : forall (W : Lin) i, app W (fun _ => 0) i = 0.
Proof.
  intros. pose proof (app_lin W 1 (fun _ => 0) (fun _ => 0) i) as H. cbv beta in H.
  replace (fun _ : nat => 0 + 1 * 0) with (fun _ : nat => 0) in H
    by (apply functional_extensionality; intro; ring).
  lra.
Qed.

Lemma app_vsum : forall (W : Lin) n (c : nat -> R) (vs : nat -> Vec) i,
  app W (fun k => vsum n (fun j => c j * vs j k)) i
  = vsum n (fun j => c j * app W (vs j) i).
Proof.
  intros W n. induction n; intros c vs i; simpl.
  - apply app_zero.
  - rewrite <- IHn. exact (app_lin W (c n) _ (vs n) i).
Qed.

Lemma app_expand : forall (W : Lin) v i, (i < dout W)%nat ->
  app W v i = vsum (din W) (fun j => v j * app W (basis j) i).
Proof.
  intros W v i Hi. rewrite <- (app_vsum W (din W) v basis i).
  apply app_ext; [|exact Hi]. intros j Hj. rewrite vsum_basis.
  destruct (lt_dec j (din W)); [reflexivity | lia].
Qed.

(** A linear layer maps differentiable curves to differentiable curves. *)
Lemma dpl_app : forall (W : Lin) (v : R -> Vec) (dv : Vec) t0 i, (i < dout W)%nat ->
  (forall j, (j < din W)%nat -> derivable_pt_lim (fun t => v t j) t0 (dv j)) ->
  derivable_pt_lim (fun t => app W (v t) i) t0 (app W dv i).
Proof.
  intros W v dv t0 i Hi Hv.
  apply (dpl_ext (fun t => vsum (din W) (fun j => v t j * app W (basis j) i))).
  { intro t. symmetry. apply app_expand. exact Hi. }
  rewrite (app_expand W dv i Hi). apply dpl_vsum. intros j Hj.
  apply dpl_mult_const_r. apply Hv. exact Hj.
Qed.

(** * The network and its loss. *)

(** Output of the layers [ws] from the pre-activation [a] of the current layer:
    a_{k+1} = W_k f(a_k), the output layer linear. *)
Fixpoint fwd_out (f : R -> R) (a : Vec) (ws : list Lin) : Vec :=
  match ws with [] => a | W :: ws' => fwd_out f (app W (fun i => f (a i))) ws' end.
Fixpoint out_dim (n : nat) (ws : list Lin) : nat :=
  match ws with [] => n | W :: ws' => out_dim (dout W) ws' end.
(** The layers compose: each input width is the previous output width. *)
Fixpoint chain_ok (n : nat) (ws : list Lin) : Prop :=
  match ws with [] => True | W :: ws' => din W = n /\ chain_ok (dout W) ws' end.

(** Least-squares loss 1/2 ||a_L - y||^2 from a layer of width n with
    pre-activation a. *)
Definition layer_loss (f : R -> R) (y : Vec) (n : nat) (a : Vec) (ws : list Lin) : R :=
  1/2 * vsum (out_dim n ws) (fun i => (fwd_out f a ws i - y i) ^ 2).

(** The loss of the whole network from its input x (linear first layer, as
    in [bp_net]). *)
Definition net_loss (f : R -> R) (y x : Vec) (ws : list Lin) : R :=
  match ws with [] => 0 | W :: ws' => layer_loss f y (dout W) (app W x) ws' end.

(** Back-propagation's error e = snd (bp_layer ...) is the gradient of the
    loss in the pre-activation: along any differentiable curve a(t) of
    pre-activations the loss has derivative <e(a(t0)), a'(t0)>.  (Chain
    rule, induction over the layers; the step uses the adjoint law
    <W^T u, v> = <u, W v>.) *)
Theorem bp_layer_is_derivative : forall f fp (y : Vec) ws n (a : R -> Vec) (d : Vec) t0,
  (forall z, derivable_pt_lim f z (fp z)) -> chain_ok n ws ->
  (forall i, (i < n)%nat -> derivable_pt_lim (fun t => a t i) t0 (d i)) ->
  derivable_pt_lim (fun t => layer_loss f y n (a t) ws) t0
    (dot n (snd (bp_layer f fp y (a t0) ws)) d).
Proof.
  intros f fp y ws. induction ws as [|W ws IH]; intros n a d t0 Hf Hc Ha.
  - unfold layer_loss, dot. simpl.
    apply (dpl_val _ _ (1/2 * vsum n (fun i => 2 * ((a t0 i - y i) * d i)))).
    { rewrite vsum_scal. field. }
    apply dpl_scal. apply dpl_vsum. intros i Hi.
    apply (dpl_val _ _ (d i * (a t0 i - y i) + (a t0 i - y i) * d i)); [ring|].
    apply (dpl_ext (fun t => (a t i - y i) * (a t i - y i))); [intro; ring|].
    apply (dpl_mult (fun t => a t i - y i) (fun t => a t i - y i));
      apply dpl_sub_const; apply Ha; exact Hi.
  - destruct Hc as [Hdin Hc].
    change (derivable_pt_lim
              (fun t => layer_loss f y (dout W) (app W (fun i => f (a t i))) ws) t0
              (dot n (snd (bp_layer f fp y (a t0) (W :: ws))) d)).
    apply (dpl_val _ _
             (dot (dout W) (snd (bp_layer f fp y (app W (fun i => f (a t0 i))) ws))
                  (app W (fun j => fp (a t0 j) * d j)))).
    { rewrite <- adjoint. rewrite Hdin. unfold dot. simpl. apply vsum_ext.
      intro. ring. }
    apply (IH (dout W) (fun t => app W (fun j => f (a t j)))); [exact Hf | exact Hc |].
    intros i Hi. apply dpl_app; [exact Hi|]. intros j Hj.
    apply (dpl_comp f fp (fun t => a t j)); [exact Hf|]. apply Ha. lia.
Qed.

(** * Weights: the directional derivative in any matrix direction. *)

(** The layer W + t V, for a direction V given as a dout x din matrix. *)
Definition lin_axpy (W : Lin) (t : R) (V : nat -> nat -> R) : Lin.
Proof.
  refine {| din := din W; dout := dout W;
            app := fun u i => app W u i + t * mat_app (dout W) (din W) V u i;
            appT := fun u j => appT W u j + t * mat_appT (dout W) (din W) V u j |}.
  - intros u v H i Hi. rewrite (app_ext W u v H i Hi), (mat_app_ext _ _ V u v H i Hi).
    reflexivity.
  - intros. rewrite app_lin, mat_app_lin. ring.
  - intros u v.
    transitivity (dot (din W) (appT W u) v
                  + t * dot (din W) (mat_appT (dout W) (din W) V u) v).
    { unfold dot. rewrite <- vsum_scal, <- vsum_plus. apply vsum_ext. intro. ring. }
    rewrite adjoint, mat_adjoint. unfold dot. rewrite <- vsum_scal, <- vsum_plus.
    apply vsum_ext. intro. ring.
  - intros u v H j. rewrite (appT_ext W u v H j), (mat_appT_ext _ _ V u v H j).
    reflexivity.
  - intros. rewrite appT_scal, mat_appT_scal. ring.
Defined.

Lemma app_axpy : forall W t V u i,
  app (lin_axpy W t V) u i = app W u i + t * mat_app (dout W) (din W) V u i.
Proof. reflexivity. Qed.

(** Frobenius pairing <g, V> = sum_{i<m, j<n} g_ij V_ij. *)
Definition frob (m n : nat) (g : Grad) (V : nat -> nat -> R) : R :=
  vsum m (fun i => vsum n (fun j => g i j * V i j)).

(** Core step: the loss after layer W (input h) in the direction V of W. *)
Lemma weight_derivative_core : forall f fp (y : Vec) W V post (h : Vec),
  (forall z, derivable_pt_lim f z (fp z)) -> chain_ok (dout W) post ->
  derivable_pt_lim (fun t => layer_loss f y (dout W) (app (lin_axpy W t V) h) post) 0
    (frob (dout W) (din W) (fun i j => snd (bp_layer f fp y (app W h) post) i * h j) V).
Proof.
  intros f fp y W V post h Hf Hc.
  set (e := snd (bp_layer f fp y (app W h) post)).
  apply (dpl_val _ _ (dot (dout W) e (mat_app (dout W) (din W) V h))).
  { unfold frob, dot, mat_app. apply vsum_ext. intro i. rewrite <- vsum_scal.
    apply vsum_ext. intro j. ring. }
  pose proof (bp_layer_is_derivative f fp y post (dout W)
                (fun t => app (lin_axpy W t V) h) (mat_app (dout W) (din W) V h) 0 Hf Hc)
    as D.
  assert (E : (fun t => app (lin_axpy W t V) h) 0 = app W h).
  { apply functional_extensionality. intro i. cbv beta. rewrite app_axpy. ring. }
  cbv beta in D. rewrite E in D. apply D. intros i Hi.
  apply (dpl_ext (fun t => app W h i + t * mat_app (dout W) (din W) V h i)).
  { intro t. rewrite app_axpy. reflexivity. }
  apply dpl_affine.
Qed.

Lemma weight_derivative_layers : forall pre f fp (y : Vec) W V post n (a : Vec),
  (forall z, derivable_pt_lim f z (fp z)) -> chain_ok n (pre ++ W :: post) ->
  derivable_pt_lim (fun t => layer_loss f y n a (pre ++ lin_axpy W t V :: post)) 0
    (frob (dout W) (din W)
          (nth (length pre) (fst (bp_layer f fp y a (pre ++ W :: post))) (fun _ _ => 0))
          V).
Proof.
  induction pre as [|U pre IH]; intros f fp y W V post n a Hf Hc.
  - destruct Hc as [_ Hc].
    exact (weight_derivative_core f fp y W V post (fun i => f (a i)) Hf Hc).
  - destruct Hc as [_ Hc].
    exact (IH f fp y W V post (dout U) (app U (fun i => f (a i))) Hf Hc).
Qed.

(** Back-propagation is the derivative (general linear layers): for any
    layer W_k of the network and any direction V (a dout x din matrix), the
    derivative at t = 0 of the loss with W_k replaced by W_k + t V is the
    Frobenius pairing of BP's gradient for W_k with V. *)
Theorem bp_is_derivative : forall f fp (y x : Vec) pre W V post n0,
  (forall z, derivable_pt_lim f z (fp z)) -> chain_ok n0 (pre ++ W :: post) ->
  derivable_pt_lim (fun t => net_loss f y x (pre ++ lin_axpy W t V :: post)) 0
    (frob (dout W) (din W)
          (nth (length pre) (bp_net f fp y x (pre ++ W :: post)) (fun _ _ => 0)) V).
Proof.
  intros f fp y x pre W V post n0 Hf Hc. destruct pre as [|U pre].
  - destruct Hc as [_ Hc]. exact (weight_derivative_core f fp y W V post x Hf Hc).
  - destruct Hc as [_ Hc].
    exact (weight_derivative_layers pre f fp y W V post (dout U) (app U x) Hf Hc).
Qed.

(** The unit matrix E_pq (1 at (p, q), 0 elsewhere). *)
Definition unit_mat (p q : nat) : nat -> nat -> R := fun i j => basis p i * basis q j.

Lemma frob_unit : forall m n g p q, (p < m)%nat -> (q < n)%nat ->
  frob m n g (unit_mat p q) = g p q.
Proof.
  intros m n g p q Hp Hq. unfold frob, unit_mat.
  transitivity (vsum m (fun i => g i q * basis p i)).
  - apply vsum_ext. intro i.
    transitivity (vsum n (fun j => (g i j * basis p i) * basis q j)).
    + apply vsum_ext. intro. ring.
    + rewrite (vsum_pick n (fun j => g i j * basis p i) q).
      destruct (lt_dec q n); [ring | lia].
  - rewrite (vsum_pick m (fun i => g i q) p). destruct (lt_dec p m); [ring | lia].
Qed.

(** Entry by entry: BP's gradient entry (p, q) for W_k is the partial
    derivative of the loss in the (p, q) entry of W_k. *)
Corollary bp_entry_is_partial_derivative : forall f fp (y x : Vec) pre W post n0 p q,
  (forall z, derivable_pt_lim f z (fp z)) -> chain_ok n0 (pre ++ W :: post) ->
  (p < dout W)%nat -> (q < din W)%nat ->
  derivable_pt_lim (fun t => net_loss f y x (pre ++ lin_axpy W t (unit_mat p q) :: post)) 0
    (nth (length pre) (bp_net f fp y x (pre ++ W :: post)) (fun _ _ => 0) p q).
Proof.
  intros f fp y x pre W post n0 p q Hf Hc Hp Hq.
  set (g := nth (length pre) (bp_net f fp y x (pre ++ W :: post)) (fun _ _ => 0)).
  replace (g p q) with (frob (dout W) (din W) g (unit_mat p q))
    by (apply frob_unit; assumption).
  apply (bp_is_derivative f fp y x pre W (unit_mat p q) post n0 Hf Hc).
Qed.

(** * Hence DP+ and the settled Eq. 21 give the derivative. *)

Lemma grads_eq_nth : forall l1 l2 k (d : Grad), grads_eq l1 l2 ->
  forall i j, nth k l1 d i j = nth k l2 d i j.
Proof.
  intros l1 l2 k d H. revert k.
  induction H as [|g1 g2 r1 r2 Hg Hr IH]; intros k i j; destruct k; simpl; auto.
Qed.

Lemma frob_ext : forall m n g1 g2 V, (forall i j, g1 i j = g2 i j) ->
  frob m n g1 V = frob m n g2 V.
Proof.
  intros. unfold frob. apply vsum_ext. intro. apply vsum_ext. intro. rewrite H. reflexivity.
Qed.

(** Theorem 6 as "= derivative": the settled Eq. 21 estimates
    -(1/beta) (D_k delta_k) zbar_{k-1}^T are the gradient of the loss, for
    every differentiable f, every alpha and beta > 0, general linear layers. *)
Theorem lecun_settled_is_derivative : forall f fp alpha beta (y x : Vec) pre W V post n0,
  0 < beta -> (forall z, derivable_pt_lim f z (fp z)) ->
  chain_ok n0 (pre ++ W :: post) ->
  derivable_pt_lim (fun t => net_loss f y x (pre ++ lin_axpy W t V :: post)) 0
    (frob (dout W) (din W)
          (nth (length pre) (lc_net 1 f fp alpha beta y x (pre ++ W :: post)) (fun _ _ => 0))
          V).
Proof.
  intros f fp alpha beta y x pre W V post n0 Hb Hf Hc.
  rewrite (frob_ext (dout W) (din W) _ (nth (length pre) (bp_net f fp y x (pre ++ W :: post))
                                (fun _ _ => 0))).
  - apply (bp_is_derivative f fp y x pre W V post n0 Hf Hc).
  - apply grads_eq_nth. apply lecun_settled_equals_bp. exact Hb.
Qed.

(** Theorem 5 as "= derivative": with identity activations the DP+
    estimates -(1/beta) delta_k zbar_{k-1}^T (one pass of Eq. 16 and Eq. 8)
    are the gradient of the loss, every alpha, beta > 0, general linear
    layers. *)
Theorem dp_plus_identity_is_derivative : forall alpha beta (y x : Vec) pre W V post n0,
  0 < beta -> chain_ok n0 (pre ++ W :: post) ->
  derivable_pt_lim (fun t => net_loss id_f y x (pre ++ lin_axpy W t V :: post)) 0
    (frob (dout W) (din W)
          (nth (length pre) (dp_net id_f alpha beta y x (pre ++ W :: post)) (fun _ _ => 0))
          V).
Proof.
  intros alpha beta y x pre W V post n0 Hb Hc.
  rewrite (frob_ext (dout W) (din W) _ (nth (length pre) (bp_net id_f one_f y x (pre ++ W :: post))
                                (fun _ _ => 0))).
  - apply (bp_is_derivative id_f one_f y x pre W V post n0); [|exact Hc].
    intro z. apply derivable_pt_lim_id.
  - apply grads_eq_nth. apply dp_plus_identity_equals_bp. exact Hb.
Qed.
