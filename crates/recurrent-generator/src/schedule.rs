//! The order in which a window passes through the frozen base's blocks and the inserted ones,
//! built once from the insertion points and walked by every forward pass.

/// One layer of the walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// Inserted block `i`.
    Inserted(usize),
    /// Base block `l`.
    Base(usize),
}

/// Every layer a window passes through, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerSchedule {
    pub layers: Vec<Layer>,
}

impl LayerSchedule {
    /// Inserted block `i` before base block `insert_before[i]` (after the last when it is
    /// `n_layer`), in a base of `n_layer` blocks; `insert_before` ascending.
    pub fn new(insert_before: &[usize], n_layer: usize) -> Self {
        let mut layers = Vec::with_capacity(n_layer + insert_before.len());
        let mut next = 0;
        for layer in 0..=n_layer {
            while next < insert_before.len() && insert_before[next] == layer {
                layers.push(Layer::Inserted(next));
                next += 1;
            }
            if layer < n_layer {
                layers.push(Layer::Base(layer));
            }
        }
        Self { layers }
    }

    /// Base block index each inserted block precedes (`n_layer`: after the last block).
    pub fn insert_before(&self) -> Vec<usize> {
        let mut before = Vec::new();
        let mut base_seen = 0;
        for layer in &self.layers {
            match layer {
                Layer::Inserted(_) => before.push(base_seen),
                Layer::Base(_) => base_seen += 1,
            }
        }
        before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserted_blocks_go_before_their_base_block_and_the_last_after_every_block() {
        let schedule = LayerSchedule::new(&[0, 2, 4], 4);
        use Layer::{Base, Inserted};
        assert_eq!(schedule.layers, vec![Inserted(0), Base(0), Base(1), Inserted(1), Base(2), Base(3), Inserted(2)]);
        assert_eq!(schedule.insert_before(), vec![0, 2, 4]);
        // Two before one block, none at all.
        assert_eq!(LayerSchedule::new(&[1, 1], 2).layers, vec![Base(0), Inserted(0), Inserted(1), Base(1)]);
        assert_eq!(LayerSchedule::new(&[], 2).layers, vec![Base(0), Base(1)]);
    }
}
