using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy;

/// <summary>
/// The one way the proxy registers a settings class: bound from its configuration section, checked by its
/// DataAnnotations and, where rules span fields, by a validator, all at start, so a bad value stops the proxy with a
/// message naming the setting. The default of every setting is the property's initial value in the class, written
/// nowhere else (docs/configuration.md is checked against it by <c>OptionsDocumentationTests</c>).
/// </summary>
internal static class ValidatedOptions
{
    /// <summary>Binds <typeparamref name="TOptions"/> to <paramref name="sectionName"/> and validates it at start.</summary>
    public static OptionsBuilder<TOptions> AddValidatedOptions<TOptions>(this IServiceCollection services, string sectionName)
        where TOptions : class =>
        services.AddOptions<TOptions>().BindConfiguration(sectionName).ValidateDataAnnotations().ValidateOnStart();

    /// <summary>The same, with <typeparamref name="TValidator"/> for the rules attributes cannot say.</summary>
    public static OptionsBuilder<TOptions> AddValidatedOptions<TOptions, TValidator>(this IServiceCollection services, string sectionName)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
        return services.AddValidatedOptions<TOptions>(sectionName);
    }
}
