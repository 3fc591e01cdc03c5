(** Multi-layer networks for Theorems 5 and 6: vectors, abstract linear
    maps with an adjoint law (a matrix instance and a scalar instance), and
    back-propagation, the ground truth (proved the derivative of the loss in
    BPGeneral.v). *)
Require Import Reals Lra Lia List.
Require Import DualProp.Common.
Import ListNotations.
Open Scope R_scope.

(** Vectors are functions from unit indices to R (only the first n entries
    of a layer of width n are ever read). *)
Definition Vec := nat -> R.
(** A weight-gradient estimate (an outer product) is a function of (i, j). *)
Definition Grad := nat -> nat -> R.

(** Finite sums: [vsum n g] = g 0 + ... + g (n - 1). *)
Fixpoint vsum (n : nat) (g : nat -> R) : R :=
  match n with O => 0 | S n' => vsum n' g + g n' end.

Lemma vsum_ext : forall n g h, (forall i, g i = h i) -> vsum n g = vsum n h.
Proof. induction n; intros; simpl; [reflexivity|]. rewrite (IHn g h H), H. ring. Qed.

Lemma vsum_ext_lt : forall n g h, (forall i, (i < n)%nat -> g i = h i) ->
  vsum n g = vsum n h.
Proof.
  induction n; intros g h H; simpl; [reflexivity|].
  rewrite (IHn g h) by (intros; apply H; lia). rewrite (H n) by lia. reflexivity.
Qed.

Lemma vsum_scal : forall n c g, vsum n (fun i => c * g i) = c * vsum n g.
Proof. induction n; intros; simpl; [ring|]. rewrite IHn. ring. Qed.

Lemma vsum_plus : forall n g h, vsum n (fun i => g i + h i) = vsum n g + vsum n h.
Proof. induction n; intros; simpl; [ring|]. rewrite IHn. ring. Qed.

(** Exchanging the order of a double finite sum. *)
Lemma vsum_swap : forall n m (F : nat -> nat -> R),
  vsum n (fun j => vsum m (fun i => F i j)) = vsum m (fun i => vsum n (fun j => F i j)).
Proof.
  induction n; intros m F; simpl.
  - induction m; simpl; [reflexivity|]. rewrite <- IHm. ring.
  - rewrite IHn. rewrite <- vsum_plus. reflexivity.
Qed.

(** The project's inner product on the first n entries: <u, v> = sum_i u_i v_i. *)
Definition dot (n : nat) (u v : Vec) : R := vsum n (fun i => u i * v i).

(** A layer's weight W : R^din -> R^dout, through its action v |-> W v and
    u |-> W^T u.  Laws: W reads only the first din entries of its argument
    (and is only read at its first dout entries), W is linear, and W^T is
    its adjoint for the inner product [dot] (<W^T u, v> = <u, W v>); W^T
    respects pointwise equality and commutes with scaling (both also follow
    on the first din entries from the adjoint law, but are kept as the two
    laws the DP/BP recursions use at every index). *)
Record Lin := {
  din : nat;
  dout : nat;
  app : Vec -> Vec;
  appT : Vec -> Vec;
  app_ext : forall u v : Vec, (forall j, (j < din)%nat -> u j = v j) ->
    forall i, (i < dout)%nat -> app u i = app v i;
  app_lin : forall (c : R) (u v : Vec) i,
    app (fun j => u j + c * v j) i = app u i + c * app v i;
  adjoint : forall u v : Vec, dot din (appT u) v = dot dout u (app v);
  appT_ext : forall u v : Vec, (forall i, u i = v i) -> forall j, appT u j = appT v j;
  appT_scal : forall (c : R) (u : Vec) j, appT (fun i => c * u i) j = c * appT u j
}.

(** Matrix instance: W is an m x n matrix given as a function of (i, j). *)
Definition mat_app (m n : nat) (W : nat -> nat -> R) : Vec -> Vec :=
  fun v i => vsum n (fun j => W i j * v j).
Definition mat_appT (m n : nat) (W : nat -> nat -> R) : Vec -> Vec :=
  fun u j => vsum m (fun i => W i j * u i).

Lemma mat_app_ext : forall m n W (u v : Vec), (forall j, (j < n)%nat -> u j = v j) ->
  forall i, (i < m)%nat -> mat_app m n W u i = mat_app m n W v i.
Proof.
  intros. unfold mat_app. apply vsum_ext_lt. intros j Hj. rewrite H by exact Hj. ring.
Qed.

Lemma mat_app_lin : forall m n W (c : R) (u v : Vec) i,
  mat_app m n W (fun j => u j + c * v j) i = mat_app m n W u i + c * mat_app m n W v i.
Proof.
  intros. unfold mat_app. rewrite <- vsum_scal, <- vsum_plus. apply vsum_ext.
  intro. ring.
Qed.

Lemma mat_adjoint : forall m n W (u v : Vec),
  dot n (mat_appT m n W u) v = dot m u (mat_app m n W v).
Proof.
  intros. unfold dot, mat_app, mat_appT.
  transitivity (vsum n (fun j => vsum m (fun i => W i j * u i * v j))).
  - apply vsum_ext. intro j. rewrite Rmult_comm, <- vsum_scal. apply vsum_ext.
    intro. ring.
  - rewrite vsum_swap. apply vsum_ext. intro i. rewrite <- vsum_scal.
    apply vsum_ext. intro. ring.
Qed.

Lemma mat_appT_ext : forall m n W (u v : Vec), (forall i, u i = v i) ->
  forall j, mat_appT m n W u j = mat_appT m n W v j.
Proof. intros. unfold mat_appT. apply vsum_ext. intro i. rewrite H. ring. Qed.

Lemma mat_appT_scal : forall m n W (c : R) (u : Vec) j,
  mat_appT m n W (fun i => c * u i) j = c * mat_appT m n W u j.
Proof.
  intros. unfold mat_appT. rewrite <- vsum_scal. apply vsum_ext. intro. ring.
Qed.

Definition matrix (m n : nat) (W : nat -> nat -> R) : Lin :=
  {| din := n; dout := m; app := mat_app m n W; appT := mat_appT m n W;
     app_ext := mat_app_ext m n W; app_lin := mat_app_lin m n W;
     adjoint := mat_adjoint m n W;
     appT_ext := mat_appT_ext m n W; appT_scal := mat_appT_scal m n W |}.

(** Scalar instance: one unit per layer (din = dout = 1), W a real number. *)
Definition scalar (w : R) : Lin.
Proof.
  refine {| din := 1; dout := 1;
            app := fun v i => w * v i; appT := fun u j => w * u j |}.
  - intros u v H i Hi. assert (i = 0%nat) by lia. subst i. rewrite H by lia.
    reflexivity.
  - intros. ring.
  - intros. unfold dot. simpl. ring.
  - intros u v H j. rewrite H. reflexivity.
  - intros. ring.
Defined.

(** Back-propagation for the network a_{k+1} = W_k f(a_k), with the
    input x and a linear output layer, least-squares loss
    1/2 ||a_L - y||^2.  [bp_layer f fp y a ws] handles the layer whose
    pre-activation is a, followed by the weights ws; it returns the
    gradients of the weights ws and the error e = dLoss/da of this layer.
    [fp] is the derivative f' (any function: the statements are algebraic). *)
Fixpoint bp_layer (f fp : R -> R) (y : Vec) (a : Vec) (ws : list Lin)
  : list Grad * Vec :=
  match ws with
  | [] => ([], fun i => a i - y i)
  | W :: ws' =>
      let h := fun i => f (a i) in
      let r := bp_layer f fp y (app W h) ws' in
      ((fun i j => snd r i * h j) :: fst r,
       fun i => fp (a i) * appT W (snd r) i)
  end.

(** Gradients of all weights [W_0; ...; W_{L-1}] for the input x. *)
Definition bp_net (f fp : R -> R) (y x : Vec) (ws : list Lin) : list Grad :=
  match ws with
  | [] => []
  | W :: ws' =>
      let r := bp_layer f fp y (app W x) ws' in
      (fun i j => snd r i * x j) :: fst r
  end.

(** Two gradient lists agree entry by entry. *)
Definition grads_eq (gs1 gs2 : list Grad) : Prop :=
  Forall2 (fun g1 g2 => forall i j, g1 i j = g2 i j) gs1 gs2.

(** Scalar identity chain: BP's gradient of W_{k-1} is
    (a_L - y) * (product of the later weights) * a_{k-1}. *)
Fixpoint prod_w (ws : list R) : R :=
  match ws with [] => 1 | w :: ws' => w * prod_w ws' end.
Fixpoint fwd (x : R) (ws : list R) : R :=
  match ws with [] => x | w :: ws' => fwd (w * x) ws' end.

Lemma fwd_prod : forall ws x, fwd x ws = prod_w ws * x.
Proof. induction ws; intros; simpl; [ring|]. rewrite IHws. ring. Qed.

(** The explicit formula for every layer of a scalar identity chain. *)
Fixpoint explicit_grads (y a : R) (ws : list R) : list R :=
  match ws with
  | [] => []
  | w :: ws' => ((fwd a ws - y) * prod_w ws' * a) :: explicit_grads y (w * a) ws'
  end.
