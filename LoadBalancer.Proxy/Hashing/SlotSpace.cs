namespace LoadBalancer.Proxy.Hashing;

/// <summary>
/// A hash space of <paramref name="Count"/> numbered slots, as textbook schemes use: hashes are slot numbers, a
/// virtual node whose slot is taken moves to the next free slot (linear probing), and the scheme fixes
/// <paramref name="VirtualNodes"/> per server (the <c>Balancing:VirtualNodes</c> setting does not apply).
/// </summary>
/// <remarks>Once every slot is taken, further virtual nodes are dropped: the space cannot hold them.</remarks>
public sealed record SlotSpace(int Count, int VirtualNodes);
