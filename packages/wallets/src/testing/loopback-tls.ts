// A self-signed certificate for 127.0.0.1 and localhost, valid for 100 years, used only by
// loopback reproductions (LND and CLNRest serve https with self-signed certificates).
// The key protects nothing: it is public test data.
export const LOOPBACK_TLS = {
  key: `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgaKRn8cYBLS3EBuOO
KvrV7mlQ/2pq6jMcvNbHV4YqZH+hRANCAAQBZB3dzUFZhE6op1wZG/FopZuIlKDz
p+kBLgApHJNs8RZf9/XdnAj2H1qeVb7wHS4Irhyv8S2h1zc1juMQKbkr
-----END PRIVATE KEY-----
`,
  cert: `-----BEGIN CERTIFICATE-----
MIIBwDCCAWegAwIBAgIUFTOpbXdlyI7oVNiLjOcA1il3XgswCgYIKoZIzj0EAwIw
JzElMCMGA1UEAwwcbDQwMmtpdCB0ZXN0IChsb29wYmFjayBvbmx5KTAgFw0yNjEx
MjExODA0NTlaGA8yMTI2MTAyODE4MDQ1OVowJzElMCMGA1UEAwwcbDQwMmtpdCB0
ZXN0IChsb29wYmFjayBvbmx5KTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABAFk
Hd3NQVmETqinXBkb8Wilm4iUoPOn6QEuACkck2zxFl/39d2cCPYfWp5VvvAdLgiu
HK/xLaHXNzWO4xApuSujbzBtMB0GA1UdDgQWBBSNmGHHOvNsc5NScmKTCj+VIL0y
qDAfBgNVHSMEGDAWgBSNmGHHOvNsc5NScmKTCj+VIL0yqDAPBgNVHRMBAf8EBTAD
AQH/MBoGA1UdEQQTMBGHBH8AAAGCCWxvY2FsaG9zdDAKBggqhkjOPQQDAgNHADBE
AiAT5y4L3/OXyjaGK8bKju+RsWEEzOc2nyLsAW4KRCZBHwIgfgbZgYDNzNNXmz4x
6laHTOUycNCVKhb1biRIlesFAPU=
-----END CERTIFICATE-----
`,
};
