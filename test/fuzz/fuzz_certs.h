/* fuzz_certs: a certificate for a.test and www.a.test (OCSP responder http://127.0.0.1:4002/ocsp,
 * valid until 2036), its P-256 key and its issuer, made with openssl for the fuzz targets; the
 * seeds in corpus/ocsp are OCSP responses of that issuer for it, those in corpus/acme carry it as
 * the issued certificate (the fuzz build hands out its key for P-256 keys, see fuzz_http.c). */
#ifndef fuzz_certs_h
#define fuzz_certs_h

static const char fuzz_chain_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBzjCCAXSgAwIBAgIUY9abFG7Un2b95oZC9N7qUYu6IowwCgYIKoZIzj0EAwIw\n"
    "IDEeMBwGA1UEAwwVUGViYmxlIFJvb3QgQ0EgM2QyZjFlMB4XDTI2MTIwMjAzNDIz\n"
    "MFoXDTM2MTEyOTAzNDIzMFowETEPMA0GA1UEAwwGYS50ZXN0MFkwEwYHKoZIzj0C\n"
    "AQYIKoZIzj0DAQcDQgAED/c/Dbp1T5noLp14KOoBll9vvj1GhBEq6jhP6JsGIgfG\n"
    "Dww3pzU9SmIoS+Se0rgzS8Gip/Qmgndoi9svCCcF56OBmjCBlzAdBgNVHREEFjAU\n"
    "ggZhLnRlc3SCCnd3dy5hLnRlc3QwNgYIKwYBBQUHAQEEKjAoMCYGCCsGAQUFBzAB\n"
    "hhpodHRwOi8vMTI3LjAuMC4xOjQwMDIvb2NzcDAdBgNVHQ4EFgQUWRD97OFNP8cu\n"
    "fsTg/T5Q+rmDnZ0wHwYDVR0jBBgwFoAUR7F5KuyGEQOG8+Oe6F/FB0i+aJkwCgYI\n"
    "KoZIzj0EAwIDSAAwRQIhALJXb7Z7US6UrwwkUlZokokNfb7LDaGpoTgqu7qQUKId\n"
    "AiBb6ymbvdmg8kRo+rPjrT7MWCcQEjdUufvnPV/ezUFy3Q==\n"
    "-----END CERTIFICATE-----\n"
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBlTCCATugAwIBAgIUL015aj0mUxkknKsjs1qYOztLWjAwCgYIKoZIzj0EAwIw\n"
    "IDEeMBwGA1UEAwwVUGViYmxlIFJvb3QgQ0EgM2QyZjFlMB4XDTI2MTIwMjAzMzgz\n"
    "N1oXDTM2MTEyOTAzMzgzN1owIDEeMBwGA1UEAwwVUGViYmxlIFJvb3QgQ0EgM2Qy\n"
    "ZjFlMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEK7icY/4P0Biot5pCKvAt3Lt2\n"
    "m69gf0+shOHlSQchnHoN9bgKsqj1KCdGvflnMTeiMavx9NKKq3utRgCeAYJysqNT\n"
    "MFEwHQYDVR0OBBYEFEexeSrshhEDhvPjnuhfxQdIvmiZMB8GA1UdIwQYMBaAFEex\n"
    "eSrshhEDhvPjnuhfxQdIvmiZMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwID\n"
    "SAAwRQIhAMISSxt0zeIMZg4LXWdcXFivqZGckzzUTdowYWk+WzMtAiB/E4D2tmb1\n"
    "UO/W3omt1AjxtQI465xN5QTSyywHB7ewBA==\n"
    "-----END CERTIFICATE-----\n";

static const char fuzz_leaf_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgDIOyZDCrwCe4063X\n"
    "c8KZM0BBFwJMOssMpH9EiPFZZSWhRANCAAQP9z8NunVPmegunXgo6gGWX2++PUaE\n"
    "ESrqOE/omwYiB8YPDDenNT1KYihL5J7SuDNLwaKn9CaCd2iL2y8IJwXn\n"
    "-----END PRIVATE KEY-----\n";

#endif /* fuzz_certs_h */
