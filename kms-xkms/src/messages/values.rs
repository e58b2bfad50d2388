//! The URI enumerations of the XKMS schema. The open ones keep unknown URIs (`Other`); all accept the
//! 2003 drafts' short forms (`Sender`, `xkms:KeyName`) on input and always emit full URIs.

use super::XKMS_NS;

/// Strips the XKMS namespace, or a draft-era `prefix:` / bare short form, leaving the fragment.
fn fragment(s: &str) -> &str {
    let s = s.trim();
    if let Some(f) = s.strip_prefix(XKMS_NS) {
        return f;
    }
    // `xkms:KeyName` (a QName-like value in the 2003 xmlsec tests); a real URI has `//` or a scheme
    // that is not followed by a capitalized XKMS name, and stays as it is.
    if let Some((p, f)) = s.split_once(':')
        && !p.is_empty()
        && p.bytes().all(|b| b.is_ascii_alphanumeric())
        && !f.contains(['/', ':'])
        && f.starts_with(|c: char| c.is_ascii_uppercase())
    {
        return f;
    }
    s
}

macro_rules! uri_enum {
    ($(#[$doc:meta])* $name:ident, open, [$($(#[$vdoc:meta])* $var:ident = $frag:literal),+ $(,)?]) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $var,)+
            /// A URI this crate does not know (the schema's open enumeration allows any anyURI).
            Other(String),
        }

        impl $name {
            /// Parses a full URI, or a draft-era short form.
            #[must_use]
            pub fn from_uri(s: &str) -> Self {
                match fragment(s) {
                    $($frag => Self::$var,)+
                    _ => Self::Other(s.trim().to_owned()),
                }
            }

            /// The full URI.
            #[must_use]
            pub fn uri(&self) -> String {
                match self {
                    $(Self::$var => concat!("http://www.w3.org/2002/03/xkms#", $frag).to_owned(),)+
                    Self::Other(s) => s.clone(),
                }
            }
        }
    };
    ($(#[$doc:meta])* $name:ident, closed, [$($(#[$vdoc:meta])* $var:ident = $frag:literal),+ $(,)?]) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $var,)+
        }

        impl $name {
            /// Parses a full URI, or a draft-era short form; `None` for anything else.
            #[must_use]
            pub fn from_uri(s: &str) -> Option<Self> {
                match fragment(s) {
                    $($frag => Some(Self::$var),)+
                    _ => None,
                }
            }

            /// The full URI.
            #[must_use]
            pub fn uri(&self) -> &'static str {
                match self {
                    $(Self::$var => concat!("http://www.w3.org/2002/03/xkms#", $frag),)+
                }
            }
        }
    };
}

uri_enum!(
    /// `RespondWith`: what the client wants in the answer's KeyInfo (section 3.1.4).
    RespondWith, open, [
        /// `#KeyName`.
        KeyName = "KeyName",
        /// `#KeyValue`.
        KeyValue = "KeyValue",
        /// `#X509Cert`.
        X509Cert = "X509Cert",
        /// `#X509Chain`.
        X509Chain = "X509Chain",
        /// `#X509CRL`.
        X509Crl = "X509CRL",
        /// `#RetrievalMethod`.
        RetrievalMethod = "RetrievalMethod",
        /// `#PGP`.
        Pgp = "PGP",
        /// `#PGPWeb`.
        PgpWeb = "PGPWeb",
        /// `#SPKI`.
        Spki = "SPKI",
        /// `#PrivateKey`.
        PrivateKey = "PrivateKey",
    ]
);

uri_enum!(
    /// `ResponseMechanism`: the protocol extensions a client supports (section 3.1.3).
    ResponseMechanism, open, [
        /// `#Pending`: asynchronous processing.
        Pending = "Pending",
        /// `#Represent`: the two-phase protocol.
        Represent = "Represent",
        /// `#RequestSignatureValue`.
        RequestSignatureValue = "RequestSignatureValue",
    ]
);

uri_enum!(
    /// `ResultMajor` (section 3.2.2).
    ResultMajor, open, [
        /// `#Success`.
        Success = "Success",
        /// `#VersionMismatch`.
        VersionMismatch = "VersionMismatch",
        /// `#Sender`: an error in the request.
        Sender = "Sender",
        /// `#Receiver`: an error at the service.
        Receiver = "Receiver",
        /// `#Represent`: first phase of the two-phase protocol.
        Represent = "Represent",
        /// `#Pending`: asynchronous processing started.
        Pending = "Pending",
    ]
);

uri_enum!(
    /// `ResultMinor` (section 3.2.2).
    ResultMinor, open, [
        /// `#NoMatch`.
        NoMatch = "NoMatch",
        /// `#TooManyResponses`.
        TooManyResponses = "TooManyResponses",
        /// `#Incomplete`.
        Incomplete = "Incomplete",
        /// `#Failure`.
        Failure = "Failure",
        /// `#Refused`.
        Refused = "Refused",
        /// `#NoAuthentication`.
        NoAuthentication = "NoAuthentication",
        /// `#MessageNotSupported`.
        MessageNotSupported = "MessageNotSupported",
        /// `#UnknownResponseId`.
        UnknownResponseId = "UnknownResponseId",
        /// `#RepresentRequired`.
        RepresentRequired = "RepresentRequired",
        /// `#NotSynchronous`.
        NotSynchronous = "NotSynchronous",
        /// `#OptionalElementNotSupported`.
        OptionalElementNotSupported = "OptionalElementNotSupported",
        /// `#ProofOfPossessionRequired`.
        ProofOfPossessionRequired = "ProofOfPossessionRequired",
        /// `#TimeInstantNotSupported`.
        TimeInstantNotSupported = "TimeInstantNotSupported",
        /// `#TimeInstantOutOfRange`.
        TimeInstantOutOfRange = "TimeInstantOutOfRange",
    ]
);

uri_enum!(
    /// `ValidReason`, `InvalidReason`, `IndeterminateReason` (section 5.1.2).
    Reason, open, [
        /// `#IssuerTrust`.
        IssuerTrust = "IssuerTrust",
        /// `#RevocationStatus`.
        RevocationStatus = "RevocationStatus",
        /// `#ValidityInterval`.
        ValidityInterval = "ValidityInterval",
        /// `#Signature`.
        Signature = "Signature",
    ]
);

uri_enum!(
    /// `KeyUsage` (section 4.1.1; a closed enumeration).
    KeyUsage, closed, [
        /// `#Encryption`.
        Encryption = "Encryption",
        /// `#Signature`.
        Signature = "Signature",
        /// `#Exchange`.
        Exchange = "Exchange",
    ]
);

uri_enum!(
    /// `StatusValue` of a KeyBinding (section 5.1.2; closed).
    StatusValue, closed, [
        /// `#Valid`.
        Valid = "Valid",
        /// `#Invalid`.
        Invalid = "Invalid",
        /// `#Indeterminate`.
        Indeterminate = "Indeterminate",
    ]
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_forms_are_read_and_full_uris_written() {
        assert_eq!(ResultMajor::from_uri("Sender"), ResultMajor::Sender);
        assert_eq!(RespondWith::from_uri("xkms:KeyName"), RespondWith::KeyName);
        assert_eq!(
            ResultMinor::from_uri("http://www.w3.org/2002/03/xkms#NoMatch").uri(),
            "http://www.w3.org/2002/03/xkms#NoMatch"
        );
        assert_eq!(
            RespondWith::from_uri("urn:example:Thing"),
            RespondWith::Other("urn:example:Thing".into())
        );
        assert_eq!(KeyUsage::from_uri("Bogus"), None);
    }
}
