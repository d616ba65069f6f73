//! Token choice: temperature 0 is argmax; top-k and top-p never emit a token outside their set.

use retrofit_core::generation::{Sampler, SamplingConfig};

/// Fixed pseudo-random logits (a linear congruential sequence), 50 tokens.
fn logits() -> Vec<f32> {
    let mut state = 12345u64;
    (0..50)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 33) as f32 / (1u64 << 31) as f32) * 6.0 - 3.0
        })
        .collect()
}

fn ranked(logits: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    order
}

#[test]
fn temperature_zero_always_takes_the_argmax() {
    let logits = logits();
    let best = ranked(&logits)[0] as u32;
    for seed in 0..20 {
        let mut sampler = Sampler::new(SamplingConfig { temperature: 0.0, top_k: 10, top_p: 0.5, seed });
        assert_eq!(sampler.choose(&logits), best);
    }
}

#[test]
fn top_k_never_emits_a_token_outside_the_k_most_likely() {
    let logits = logits();
    let allowed: Vec<u32> = ranked(&logits)[..5].iter().map(|&i| i as u32).collect();
    let mut sampler = Sampler::new(SamplingConfig { temperature: 1.5, top_k: 5, top_p: 1.0, seed: 7 });
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..2_000 {
        let token = sampler.choose(&logits);
        assert!(allowed.contains(&token), "token {token} is not among the top 5 {allowed:?}");
        seen.insert(token);
    }
    assert_eq!(seen.len(), 5, "a temperature of 1.5 should reach all five tokens");
}

#[test]
fn top_p_never_emits_a_token_outside_the_smallest_set_reaching_p() {
    let logits = logits();
    let order = ranked(&logits);
    let max = logits[order[0]];
    let weights: Vec<f64> = order.iter().map(|&i| f64::from(logits[i] - max).exp()).collect();
    let total: f64 = weights.iter().sum();
    let mut cumulative = 0.0;
    let mut nucleus = Vec::new();
    for (&index, weight) in order.iter().zip(&weights) {
        nucleus.push(index as u32);
        cumulative += weight / total;
        if cumulative >= 0.6 {
            break;
        }
    }
    assert!(nucleus.len() > 1 && nucleus.len() < logits.len());
    let mut sampler = Sampler::new(SamplingConfig { temperature: 1.0, top_k: 0, top_p: 0.6, seed: 3 });
    for _ in 0..2_000 {
        let token = sampler.choose(&logits);
        assert!(nucleus.contains(&token), "token {token} is outside the nucleus {nucleus:?}");
    }
    let allowed: Vec<u32> = sampler.allowed(&logits).into_iter().map(|(id, _)| id).collect();
    assert_eq!(allowed, nucleus);
}
