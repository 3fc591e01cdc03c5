(** Multi-layer networks for Theorems 5 and 6: vectors, abstract linear
    maps (with a matrix instance and a scalar instance), and
    back-propagation, the ground truth. *)
Require Import Reals Lra List.
Require Import DualProp.Common.
Import ListNotations.
Open Scope R_scope.

(** Vectors are functions from unit indices to R (only the first n entries
    of a layer of width n are ever read). *)
Definition Vec := nat -> R.
(** A weight-gradient estimate (an outer product) is a function of (i, j). *)
Definition Grad := nat -> nat -> R.

(** A layer's weight W, through its action v |-> W v and v |-> W^T v.
    Only two laws of W^T are used: it respects pointwise equality and it
    commutes with scaling. *)
Record Lin := {
  app : Vec -> Vec;
  appT : Vec -> Vec;
  appT_ext : forall u v : Vec, (forall i, u i = v i) -> forall j, appT u j = appT v j;
  appT_scal : forall (c : R) (u : Vec) j, appT (fun i => c * u i) j = c * appT u j
}.

(** Matrix instance: W is an m x n matrix given as a function of (i, j). *)
Fixpoint vsum (n : nat) (g : nat -> R) : R :=
  match n with O => 0 | S n' => vsum n' g + g n' end.

Lemma vsum_ext : forall n g h, (forall i, g i = h i) -> vsum n g = vsum n h.
Proof. induction n; intros; simpl; [reflexivity|]. rewrite (IHn g h H), H. ring. Qed.

Lemma vsum_scal : forall n c g, vsum n (fun i => c * g i) = c * vsum n g.
Proof. induction n; intros; simpl; [ring|]. rewrite IHn. ring. Qed.

Definition mat_app (m n : nat) (W : nat -> nat -> R) : Vec -> Vec :=
  fun v i => vsum n (fun j => W i j * v j).
Definition mat_appT (m n : nat) (W : nat -> nat -> R) : Vec -> Vec :=
  fun u j => vsum m (fun i => W i j * u i).

Lemma mat_appT_ext : forall m n W (u v : Vec), (forall i, u i = v i) ->
  forall j, mat_appT m n W u j = mat_appT m n W v j.
Proof. intros. unfold mat_appT. apply vsum_ext. intro i. rewrite H. ring. Qed.

Lemma mat_appT_scal : forall m n W (c : R) (u : Vec) j,
  mat_appT m n W (fun i => c * u i) j = c * mat_appT m n W u j.
Proof.
  intros. unfold mat_appT. rewrite <- vsum_scal. apply vsum_ext. intro. ring.
Qed.

Definition matrix (m n : nat) (W : nat -> nat -> R) : Lin :=
  {| app := mat_app m n W; appT := mat_appT m n W;
     appT_ext := mat_appT_ext m n W; appT_scal := mat_appT_scal m n W |}.

(** Scalar instance: one unit per layer, W a real number. *)
Definition scalar (w : R) : Lin.
Proof.
  refine {| app := fun v i => w * v i; appT := fun u j => w * u j |}.
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
