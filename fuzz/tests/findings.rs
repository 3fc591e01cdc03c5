//! Inputs the fuzzers found that are not yet explained, kept as expected failures until they are.

/// Found by the differential target in a CI dry run (stop 18, `bash fuzz/ci.sh 30`): original DP, alpha = 0.75,
/// beta = 0.5, K = 8, even-odd schedule, the frozen-gradient output, tanh, widths [6, 6, 2, 4, 1]. The kernel's z+ of
/// layer 3 differs from the reference's by 5.26e-13, 1.36 times the harness's bound (3.86e-13). Not yet known
/// whether the bound misses an amplification of rounding (as in `fuzz_differential_1_is_amplified_rounding_not_a_kernel_error`)
/// or the kernel computes something else. Run with `cargo test -- --ignored` in fuzz/ once explained.
#[test]
#[ignore = "finding not yet explained: kernel vs reference 1.36x the bound (docs in the test)"]
fn differential_2_original_dp_even_odd_agrees() {
    let data = include_bytes!("../findings/differential-2.bin");
    let p = dualprop_fuzz::problem(data).expect("the input decodes to a problem");
    let outcome = dualprop_fuzz::compare(&p);
    assert!(
        !matches!(outcome, dualprop_fuzz::Agreement::Disagree(_)),
        "{outcome:?}"
    );
}
