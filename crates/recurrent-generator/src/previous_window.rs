//! `none-cache`, the parameter-free control: every attention layer, base and inserted, also
//! attends to the previous window, which is computed afresh (without gradient) at positions
//! `0..context` with the current window at `context..2 * context`, so that the positions are the
//! ones the base was trained on (a GPT-2 base's learned absolute positions included); the base
//! needs `2 * context` positions.

use burn::tensor::{Int, Tensor};
use retrofit_core::decoder::Decoder;
use retrofit_core::generation::LayerCache;
use retrofit_core::positions::position_ids;

use crate::inserted::WindowInputs;
use crate::model::RecurrentLm;
use crate::schedule::Layer;

/// What the previous window leaves every layer (computed without gradient).
pub(crate) struct WindowPrefix {
    /// Each base block's keys and values of the previous window.
    pub base: Vec<Option<LayerCache>>,
    /// Each inserted block's input at the previous window's positions. `[batch, context, d_model]`
    pub inserted: Vec<Tensor<3>>,
}

impl RecurrentLm {
    /// The previous window alone at positions `0..context`, recording every base block's keys
    /// and values and every inserted block's input, without gradient.
    ///
    /// # Shapes
    /// `ids`: `[batch, context]`
    pub(crate) fn previous_window(&self, ids: Tensor<2, Int>) -> WindowPrefix {
        let [batch, seq] = ids.dims();
        let positions = position_ids(batch, seq, 0, &ids.device());
        let context = self.base.context(positions.clone(), None, 0);
        let mut x = self.base.embed(ids, positions).detach();
        let mut prefix = WindowPrefix {
            base: Vec::with_capacity(self.base.n_layer()),
            inserted: Vec::with_capacity(self.inserted.len()),
        };
        let plain = WindowInputs::default();
        for layer in &self.schedule.layers {
            x = match *layer {
                Layer::Inserted(index) => {
                    prefix.inserted.push(x.clone());
                    self.inserted[index].forward(x, &plain, None).detach()
                }
                Layer::Base(index) => {
                    let mut cache = None;
                    let x = self.base.block(index, x, &context, &mut cache).detach();
                    prefix.base.push(cache.map(LayerCache::detach));
                    x
                }
            };
        }
        prefix
    }
}
