using System.Buffers;
using System.Text.Json;
using LoadBalancer.Proxy.Membership;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace LoadBalancer.Proxy.Admin;

/// <summary>An admin change as parsed: how many instances and which servers were named.</summary>
public sealed record AdminChange(int N, IReadOnlyList<ServerReference> Targets);
