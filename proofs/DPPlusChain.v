(** Theorem 5: with identity activations the DP+ weight-gradient estimate
    -(1/beta) delta_k zbar_{k-1}^T equals the back-propagation gradient
    for every beta > 0 and every alpha, by induction over the depth. *)
Require Import Reals Lra List.
Require Import DualProp.Common DualProp.Chain.
Import ListNotations.
Open Scope R_scope.

(** One inference pass of DP+ (first iteration of the schedule: states
    start at the feed-forward values, the output is nudged by Eq. 16 with
    l'(z) = beta (z - y), and the layers are updated top-down by Eq. 8).
    [dp_layer f alpha beta y a ws] treats the layer with pre-activation
    a = W_{k-1} zbar_{k-1} followed by the weights ws; it returns the
    gradient estimates of ws and delta_k = z_k^+ - z_k^-. *)
Fixpoint dp_layer (f : R -> R) (alpha beta : R) (y : Vec) (a : Vec)
  (ws : list Lin) : list Grad * Vec :=
  match ws with
  | [] =>
      let zp := fun i => a i - abar alpha * (beta * (a i - y i)) in
      let zm := fun i => a i + alpha * (beta * (a i - y i)) in
      ([], fun i => zp i - zm i)
  | W :: ws' =>
      let h := fun i => f (a i) in                (* feed-forward mean *)
      let r := dp_layer f alpha beta y (app W h) ws' in
      let b := appT W (snd r) in                  (* W_k^T delta_{k+1} *)
      let zp := fun i => f (a i + abar alpha * b i) in
      let zm := fun i => f (a i - alpha * b i) in
      let zb := fun i => zbar alpha (zp i) (zm i) in
      ((fun i j => - / beta * snd r i * zb j) :: fst r,
       fun i => zp i - zm i)
  end.

Definition dp_net (f : R -> R) (alpha beta : R) (y x : Vec) (ws : list Lin)
  : list Grad :=
  match ws with
  | [] => []
  | W :: ws' =>
      let r := dp_layer f alpha beta y (app W x) ws' in
      (fun i j => - / beta * snd r i * x j) :: fst r
  end.

Definition id_f : R -> R := fun x => x.
Definition one_f : R -> R := fun _ => 1.

Lemma dp_layer_identity : forall alpha beta y ws a, beta <> 0 ->
  grads_eq (fst (dp_layer id_f alpha beta y a ws))
           (fst (bp_layer id_f one_f y a ws)) /\
  (forall i, snd (dp_layer id_f alpha beta y a ws) i
             = - beta * snd (bp_layer id_f one_f y a ws) i).
Proof.
  intros alpha beta y ws. induction ws as [|W ws IH]; intros a Hb.
  - simpl. split; [constructor|]. intro i. unfold abar. ring.
  - simpl. destruct (IH (app W (fun i => id_f (a i))) Hb) as [Hg Hd].
    set (rd := dp_layer id_f alpha beta y (app W (fun i => id_f (a i))) ws) in *.
    set (rb := bp_layer id_f one_f y (app W (fun i => id_f (a i))) ws) in *.
    assert (HT : forall i, appT W (snd rd) i = - beta * appT W (snd rb) i).
    { intro i. rewrite <- appT_scal. apply appT_ext. exact Hd. }
    split.
    + constructor; [|exact Hg]. intros i j.
      rewrite Hd. unfold zbar, id_f, abar. field. exact Hb.
    + intro i. rewrite HT. unfold id_f, one_f, abar. ring.
Qed.

(** Theorem 5 (vector form, any abstract linear weights: matrices of any
    shapes, or scalars): DP+ gradient estimate = BP gradient. *)
Theorem dp_plus_identity_equals_bp : forall alpha beta (y x : Vec) ws,
  0 < beta ->
  grads_eq (dp_net id_f alpha beta y x ws) (bp_net id_f one_f y x ws).
Proof.
  intros alpha beta y x ws Hb. destruct ws as [|W ws]; simpl; [constructor|].
  assert (Hb' : beta <> 0) by lra.
  destruct (dp_layer_identity alpha beta y ws (app W x) Hb') as [Hg Hd].
  constructor; [|exact Hg]. intros i j. rewrite Hd. field. exact Hb'.
Qed.

(** The matrix instance spelled out: every layer an m_k x n_k matrix. *)
Corollary dp_plus_identity_equals_bp_matrices :
  forall alpha beta (y x : Vec) (shapes : list (nat * nat * (nat -> nat -> R))),
  0 < beta ->
  let ws := map (fun s => matrix (fst (fst s)) (snd (fst s)) (snd s)) shapes in
  grads_eq (dp_net id_f alpha beta y x ws) (bp_net id_f one_f y x ws).
Proof. intros. apply dp_plus_identity_equals_bp. exact H. Qed.

(** In the identity chain the DP+ means are the feed-forward values and the
    differences are delta_k = W_k^T delta_{k+1}, delta_L = -beta (a_L - y). *)
Lemma dp_layer_identity_delta : forall alpha beta y W ws a i,
  snd (dp_layer id_f alpha beta y a (W :: ws)) i
  = appT W (snd (dp_layer id_f alpha beta y (app W (fun j => a j)) ws)) i.
Proof. intros. simpl. unfold id_f, abar. ring. Qed.

(** Scalar chain, explicit formula: the BP gradient of W_{k-1} is
    (a_L - y) * (product of the later weights) * a_{k-1}, so DP+ gives the
    same number. *)
Lemma bp_scalar_identity : forall ws y (a : Vec) i,
  snd (bp_layer id_f one_f y a (map scalar ws)) i
    = (fwd (a i) ws - y i) * prod_w ws /\
  Forall2 (fun g e => g i i = e)
    (fst (bp_layer id_f one_f y a (map scalar ws)))
    (explicit_grads (y i) (a i) ws).
Proof.
  induction ws as [|w ws IH]; intros y a i.
  - simpl. split; [ring | constructor].
  - simpl. destruct (IH y (fun j => w * id_f (a j)) i) as [He Hg].
    unfold id_f in *. split.
    + rewrite He. unfold one_f. ring.
    + constructor; [|exact Hg]. rewrite He. ring.
Qed.

Lemma forall2_grads_eq_transfer : forall i (l1 l2 : list Grad) (le : list R),
  grads_eq l1 l2 -> Forall2 (fun g e => g i i = e) l2 le ->
  Forall2 (fun g e => g i i = e) l1 le.
Proof.
  intros i l1 l2 le H. revert le.
  induction H as [|g1 g2 r1 r2 Hgg Hr IH]; intros le Hg.
  - inversion Hg. constructor.
  - inversion Hg; subst. constructor.
    + rewrite Hgg. reflexivity.
    + apply IH. assumption.
Qed.

Theorem dp_plus_scalar_chain_explicit : forall alpha beta y x ws i,
  0 < beta ->
  Forall2 (fun g e => g i i = e)
    (dp_net id_f alpha beta (fun _ => y) (fun _ => x) (map scalar ws))
    (explicit_grads y x ws).
Proof.
  intros alpha beta y x ws i Hb.
  apply (forall2_grads_eq_transfer i _
           (bp_net id_f one_f (fun _ => y) (fun _ => x) (map scalar ws))).
  - apply dp_plus_identity_equals_bp. exact Hb.
  - destruct ws as [|w ws]; simpl; [constructor|].
    destruct (bp_scalar_identity ws (fun _ => y) (fun _ => w * x) i) as [He Hg].
    constructor; [|exact Hg]. rewrite He. ring.
Qed.
