//! The one way a run's seed is mixed with an index (an epoch, an example) into the seed of one
//! random draw: `seed ^ index * multiplier`, with a different odd multiplier for each purpose so
//! that the draws of different purposes are not correlated. The multipliers are those every
//! committed run was made with.

/// What a derived seed is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedPurpose {
    /// The device's random draws (dropout, state resets) of an epoch.
    DeviceEpoch,
    /// Which random windows an epoch of `RandomWindows` order draws.
    WindowsEpoch,
    /// Where one random window starts.
    Window,
    /// The offset of an epoch's streams.
    StreamsEpoch,
}

impl SeedPurpose {
    fn multiplier(self) -> u64 {
        match self {
            Self::DeviceEpoch => 0x2545_F491_4F6C_DD1D,
            Self::WindowsEpoch => 0xD1B5_4A32_D192_ED03,
            Self::Window => 0x9E37_79B9_7F4A_7C15,
            Self::StreamsEpoch => 0xA076_1D64_78BD_642F,
        }
    }
}

/// The seed of draw `index` for `purpose` in a run seeded `seed`.
pub fn derive_seed(seed: u64, purpose: SeedPurpose, index: u64) -> u64 {
    seed ^ index.wrapping_mul(purpose.multiplier())
}
