/// First channel of 16-channel block `block` of a tensor with `channels` channels. Blocks are
/// 16 apart, except that the last block of a count that is not a multiple of 16 ends at the
/// last channel: it overlaps the block before (recomputing the same bytes), so that every
/// 16-lane load and store stays inside the tensor. Counts below 16 have one block, at 0.
@inline(always)
func channelBlockStart(_ block: Int, channels: Int) -> Int {
    channels < 16 ? 0 : min(block * 16, channels - 16)
}
