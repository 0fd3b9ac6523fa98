using System.Text;
using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Hashing;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.Hashing;

[Trait(TestCategories.Name, TestCategories.Unit)]
public sealed class HashFunctionTests
{
    [Fact]
    public void Murmur3_matches_the_reference_implementation()
    {
        // Reference values of MurmurHash3_x64_128's first 64 bits (mmh3.hash64; the fox's digest is usually printed
        // as bytes, 6c1b07bc7bbc4be3…, i.e. this value little-endian).
        Assert.Equal(0UL, Murmur3Function.Hash([], 0));
        Assert.Equal(0xcbd8a7b341bd9b02UL, Murmur3Function.Hash("hello"u8, 0));
        Assert.Equal(0xe34bbc7bbc071b6cUL, Murmur3Function.Hash("The quick brown fox jumps over the lazy dog"u8, 0));
    }

    [Fact]
    public void Fnv1a_matches_the_published_test_vectors()
    {
        Assert.Equal(0xcbf29ce484222325UL, Fnv1aFunction.Hash([]));
        Assert.Equal(0xaf63dc4c8601ec8cUL, Fnv1aFunction.Hash(0xcbf29ce484222325UL, "a"u8));
        Assert.Equal(0x85944171f73967e8UL, Fnv1aFunction.Hash(0xcbf29ce484222325UL, "foobar"u8));
    }

    [Theory]
    [InlineData(XxHash3Function.FunctionName)]
    [InlineData(Murmur3Function.FunctionName)]
    [InlineData(Fnv1aFunction.FunctionName)]
    [InlineData(AssignmentHashFunction.FunctionName)]
    public void Every_function_is_registered_deterministic_and_allocation_free(string name)
    {
        Assert.True(HashFunctions.TryGet(name.ToUpperInvariant(), out var hash));
        Assert.Equal(name, hash.Name);
        Assert.Equal(hash.HashKey("123456"), hash.HashKey("123456".AsSpan()));
        Assert.NotEqual(hash.HashNode("server1", 0), hash.HashNode("server1", 1));

        hash.HashKey("warm-up");
        var before = GC.GetAllocatedBytesForCurrentThread();
        ulong sum = 0;
        for (var i = 0; i < 1000; i++)
        {
            sum += hash.HashKey("some-request-key-42");
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
        Assert.NotEqual(0UL, sum);
    }

    [Fact]
    public void Node_hashes_do_not_collide_by_concatenation()
    {
        foreach (var hash in HashFunctions.Functions.Where(f => f.Slots is null))
        {
            Assert.NotEqual(hash.HashNode("a", 12), hash.HashNode("a1", 2));
        }
    }

    [Theory]
    [InlineData("0", 17UL)]
    [InlineData("1", 20UL)]
    [InlineData("123456", (123456UL * 123456 + 2 * 123456 + 17) % 512)]
    [InlineData("999999", (999999UL * 999999 + 2 * 999999 + 17) % 512)]
    // 40 digits overflow 64 bits; i mod 512 is still exact.
    [InlineData("1000000000000000000000000000000000000001", 20UL)]
    public void Assignment_request_slot_is_i_squared_plus_2i_plus_17_mod_512(string id, ulong slot)
    {
        Assert.Equal(slot, new AssignmentHashFunction().HashKey(id));
    }

    [Theory]
    [InlineData("server1", 0, 26UL)]
    [InlineData("server3", 8, (9UL + 64 + 16 + 25) % 512)]
    [InlineData("S10", 2, (100UL + 4 + 4 + 25) % 512)]
    [InlineData("server1000", 1, (1000UL * 1000 + 1 + 2 + 25) % 512)]
    public void Assignment_virtual_node_is_phi_of_the_servers_trailing_number(string server, int j, ulong slot)
    {
        Assert.Equal(slot, new AssignmentHashFunction().HashNode(server, j));
    }

    [Fact]
    public void Assignment_falls_back_to_fnv1a_for_keys_and_names_without_a_number()
    {
        var hash = new AssignmentHashFunction();
        var i = Fnv1aFunction.Hash("user-abc".AsSpan()) % 512;
        Assert.Equal(AssignmentHashFunction.RequestSlot(i), hash.HashKey("user-abc"));
        Assert.Equal(AssignmentHashFunction.RequestSlot(Fnv1aFunction.Hash("-12".AsSpan()) % 512), hash.HashKey("-12"));

        var n = Fnv1aFunction.Hash("alpha".AsSpan()) % 512;
        Assert.Equal(AssignmentHashFunction.NodeSlot(n, 4), hash.HashNode("alpha", 4));
    }

    [Fact]
    public void Assignment_request_hash_reaches_only_87_of_512_slots()
    {
        var slots = Enumerable.Range(0, 512).Select(i => AssignmentHashFunction.RequestSlot((ulong)i)).Distinct().Count();
        Assert.Equal(87, slots);
    }

    [Fact]
    public void Assignment_ring_places_nine_nodes_per_server_with_linear_probing()
    {
        var servers = Enumerable.Range(1, 3).Select(i => new BackendServer($"server{i}", new Uri($"http://127.0.0.1:{6000 + i}"))).ToArray();
        var ring = HashRing.Create(servers, new AssignmentHashFunction(), virtualNodes: 1000);

        // K = 9 whatever VirtualNodes says; Φ collides at 29, 34 and 37, and probing keeps all 27 nodes.
        Assert.Equal(27, ring.PointCount);

        // Slot 29 (Φ(1,1) = Φ(2,0)) went to server1, placed first; server2's node moved on to 30.
        Assert.Equal("server1", ring.Servers[ring.Pick(29, [])].Name);
        Assert.Equal("server2", ring.Servers[ring.Pick(30, [])].Name);

        // Past the last node (Φ(3,8) = 114) the ring wraps to the first (Φ(1,0) = 26).
        Assert.Equal("server1", ring.Servers[ring.Pick(115, [])].Name);
        Assert.Equal("server1", ring.Servers[ring.Pick(0, [])].Name);
    }

    [Fact]
    public void Assignment_reproduces_the_courses_skew_on_three_servers()
    {
        // The course measured 8438 / 481 / 1081 for 10,000 random 6-digit ids; any sample lands close to that.
        var hash = new AssignmentHashFunction();
        var servers = Enumerable.Range(1, 3).Select(i => new BackendServer($"server{i}", new Uri($"http://127.0.0.1:{6000 + i}"))).ToArray();
        var ring = HashRing.Create(servers, hash, 1);
        var random = new Random(7);
        var counts = new int[3];
        for (var i = 0; i < 10_000; i++)
        {
            counts[ring.Pick(hash.HashKey(random.Next(100_000, 1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture)), [])]++;
        }

        Assert.InRange(counts[0], 8_200, 8_700);
        Assert.InRange(counts[1], 350, 650);
        Assert.InRange(counts[2], 900, 1_300);
    }

    [Fact]
    public void Slot_space_holds_at_most_its_slot_count()
    {
        var servers = Enumerable.Range(1, 100).Select(i => new BackendServer($"server{i}", new Uri($"http://127.0.0.1:{6000 + i}"))).ToArray();
        var ring = HashRing.Create(servers, new AssignmentHashFunction(), 9);
        Assert.Equal(AssignmentHashFunction.SlotCount, ring.PointCount);
    }

    [Fact]
    public void Text_is_hashed_as_utf16_code_units()
    {
        var utf16 = Encoding.Unicode.GetBytes("key-1");
        Assert.Equal(Murmur3Function.Hash(utf16, 0), new Murmur3Function().HashKey("key-1"));
        Assert.Equal(Fnv1aFunction.Hash(0xcbf29ce484222325UL, utf16), new Fnv1aFunction().HashKey("key-1"));
    }
}
