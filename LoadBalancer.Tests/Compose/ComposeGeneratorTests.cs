using System.Text;
using LoadBalancer.ComposeGen.Compose;
using LoadBalancer.ComposeGen.Manifest;
using LoadBalancer.Proxy.Admin;
using YamlDotNet.RepresentationModel;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.Compose;

/// <summary>The manifest → compose mapping on small hand-written manifests (parameters, expressions, refusals).</summary>
[Trait(TestCategories.Name, TestCategories.Unit)]
public sealed class ComposeGeneratorTests
{
    private const string Root = "/repo";

    [Fact]
    public void Endpoint_expressions_become_container_addresses_and_references_become_health_gated_dependencies()
    {
        var compose = Generate("""
            "api": { "type": "project.v0", "path": "api/Api.csproj",
              "env": { "HTTP_PORTS": "{api.bindings.http.targetPort}", "BACKEND": "{backend.bindings.http.url}",
                       "BACKEND_HOST": "{backend.bindings.http.host}:{backend.bindings.http.port}" },
              "bindings": { "http": { "scheme": "http", "targetPort": 7000, "port": 80, "external": true } } },
            "backend": { "type": "project.v0", "path": "backend/Backend.csproj",
              "bindings": { "http": { "scheme": "http" } } }
            """).Document;

        var api = compose["services"]["api"];
        Assert.Equal("8080", Scalar(api["environment"]["HTTP_PORTS"]));
        Assert.Equal("http://backend:8080", Scalar(api["environment"]["BACKEND"]));
        Assert.Equal("backend:8080", Scalar(api["environment"]["BACKEND_HOST"]));
        // Published on the host's loopback only, the host port overridable by a variable named after the service.
        Assert.Equal("127.0.0.1:${API_PORT:-80}:8080", Scalar(((YamlSequenceNode)api["ports"]).Children.Single()));
        Assert.Equal("service_healthy", Scalar(api["depends_on"]["backend"]["condition"]));
        Assert.Equal("api/Dockerfile", Scalar(api["build"]["dockerfile"]));
        Assert.Equal("api", Scalar(api["environment"]["OTEL_SERVICE_NAME"]));
        Assert.Equal("http://aspire-dashboard:18889", Scalar(api["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"]));

        var backend = (YamlMappingNode)compose["services"]["backend"];
        Assert.False(backend.Children.ContainsKey("ports"));
        Assert.False(backend.Children.ContainsKey("depends_on"));
        Assert.Equal("unless-stopped", Scalar(backend["restart"]));
        Assert.True(((YamlMappingNode)compose["services"]).Children.ContainsKey(ComposeGenerator.DashboardService));
    }

    [Fact]
    public void A_second_endpoint_listens_on_the_next_container_port_and_expressions_name_each_ones_port()
    {
        var compose = Generate("""
            "server": { "type": "project.v0", "path": "server/Server.csproj",
              "env": { "HTTP_PORTS": "{server.bindings.http.targetPort};{server.bindings.h2c.targetPort}",
                       "Server__H2cPort": "{server.bindings.h2c.targetPort}" },
              "bindings": { "http": { "scheme": "http" }, "h2c": { "scheme": "http", "transport": "http2", "port": 9001, "external": true } } },
            "proxy": { "type": "project.v0", "path": "proxy/Proxy.csproj",
              "env": { "H1": "{server.bindings.http.url}", "H2C": "{server.bindings.h2c.url}" } }
            """).Document;

        var server = compose["services"]["server"];
        Assert.Equal("8080;8081", Scalar(server["environment"]["HTTP_PORTS"]));
        Assert.Equal("8081", Scalar(server["environment"]["Server__H2cPort"]));
        Assert.Equal("127.0.0.1:${SERVER_H2C_PORT:-9001}:8081", Scalar(((YamlSequenceNode)server["ports"]).Children.Single()));
        var proxy = compose["services"]["proxy"];
        Assert.Equal("http://server:8080", Scalar(proxy["environment"]["H1"]));
        Assert.Equal("http://server:8081", Scalar(proxy["environment"]["H2C"]));
    }

    [Fact]
    public void Parameters_become_compose_variables_listed_in_the_env_template()
    {
        var model = Generate("""
            "admin-key": { "type": "parameter.v0", "value": "{admin-key.inputs.value}",
              "inputs": { "value": { "type": "string", "secret": true } } },
            "log-level": { "type": "parameter.v0", "value": "{log-level.inputs.value}",
              "inputs": { "value": { "type": "string", "default": { "value": "Debug" } } } },
            "proxy": { "type": "project.v0", "path": "proxy/Proxy.csproj",
              "env": { "Admin__Key": "{admin-key.value}", "Logging__LogLevel__Default": "{log-level.value}" } }
            """);

        var environment = model.Document["services"]["proxy"]["environment"];
        Assert.Equal("${ADMIN_KEY}", Scalar(environment["Admin__Key"]));
        Assert.Equal("${LOG_LEVEL:-Debug}", Scalar(environment["Logging__LogLevel__Default"]));
        Assert.Equal(["ADMIN_KEY", "LOG_LEVEL"], model.Variables.Select(v => v.Name));
        Assert.False(((YamlMappingNode)model.Document["services"]).Children.ContainsKey("admin-key"));

        var template = ComposeFile.ToEnvironmentTemplate(model)!;
        Assert.Contains("# AppHost parameter 'admin-key' (secret), required\nADMIN_KEY=\n", template, StringComparison.Ordinal);
        Assert.Contains("LOG_LEVEL=Debug\n", template, StringComparison.Ordinal);
    }

    [Fact]
    public void The_env_template_says_how_long_the_admin_key_must_be()
    {
        var model = Generate("""
            "admin-key": { "type": "parameter.v0", "value": "{admin-key.inputs.value}",
              "inputs": { "value": { "type": "string", "secret": true } } },
            "proxy": { "type": "project.v0", "path": "proxy/Proxy.csproj", "env": { "Admin__ApiKey": "{admin-key.value}" } }
            """);

        Assert.Contains(
            $"# AppHost parameter 'admin-key' (secret), required: at least {AdminOptions.MinimumKeyLength} characters, no spaces",
            ComposeFile.ToEnvironmentTemplate(model)!,
            StringComparison.Ordinal);
    }

    [Fact]
    public void The_dashboard_is_published_on_loopback_on_an_overridable_port()
    {
        var dashboard = Generate("""
            "api": { "type": "project.v0", "path": "api/Api.csproj" }
            """).Document["services"][ComposeGenerator.DashboardService];

        Assert.Equal("127.0.0.1:${DASHBOARD_PORT:-18888}:18888", Scalar(((YamlSequenceNode)dashboard["ports"]).Children.Single()));
    }

    [Fact]
    public void Without_parameters_there_is_no_env_template()
    {
        Assert.Null(ComposeFile.ToEnvironmentTemplate(Generate("""
            "api": { "type": "project.v0", "path": "api/Api.csproj" }
            """)));
    }

    [Fact]
    public void Literal_dollar_signs_are_escaped_and_awkward_values_survive_the_yaml_round_trip()
    {
        var model = Generate("""
            "api": { "type": "project.v0", "path": "api/Api.csproj",
              "env": { "PRICE": "$5 # not a comment: \"quoted\" 'single'", "EMPTY": "" } }
            """);

        Assert.Equal("$$5 # not a comment: \"quoted\" 'single'", Scalar(model.Document["services"]["api"]["environment"]["PRICE"]));
        Assert.Empty(ComposeDiff.Compare(model.Document, ComposeFile.Parse(ComposeFile.ToYaml(model))));
    }

    [Theory]
    [InlineData("""
        "cache": { "type": "container.v0", "image": "redis" }
        """, "Resource 'cache' has type 'container.v0'")]
    [InlineData("""
        "db": { "type": "parameter.v0", "value": "{db.inputs.value}" },
        "api": { "type": "project.v0", "path": "api/Api.csproj", "env": { "DB": "{db.connectionString}" } }
        """, "Resource 'api': cannot translate '{db.connectionString}'")]
    [InlineData("""
        "api": { "type": "project.v0", "path": "api/Api.csproj", "env": { "X": "{nowhere.bindings.http.url}" } }
        """, "cannot translate '{nowhere.bindings.http.url}'")]
    public void What_compose_cannot_express_is_refused_with_the_resource_named(string resources, string message)
    {
        var error = Assert.Throws<NotSupportedException>(() => Generate(resources));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_diff_names_services_the_compose_file_has_but_the_AppHost_does_not()
    {
        var derived = ComposeFile.Parse("services:\n  proxy:\n    restart: unless-stopped\n");
        var committed = ComposeFile.Parse("services:\n  proxy:\n    restart: always\n  server9:\n    restart: always\n");

        Assert.Equal(
            [
                "services.proxy.restart: the compose file has 'always', the AppHost gives 'unless-stopped'",
                "services.server9: in the compose file (a section of 1 entry) but not derived from the AppHost",
            ],
            ComposeDiff.Compare(derived, committed));
    }

    private static ComposeModel Generate(string resources)
    {
        using var json = new MemoryStream(Encoding.UTF8.GetBytes($$"""{ "resources": { {{resources}} } }"""));
        return ComposeGenerator.Generate(AspireManifest.Parse(json, Root), Root);
    }

    private static string? Scalar(YamlNode node) => ((YamlScalarNode)node).Value;
}
