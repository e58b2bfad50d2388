# XKMS peers and checkers: xmllint (schema validation), xmlsec1 (an independent XML-DSig/XML-Enc implementation)
# and xsec-xklient (Apache Santuario's XKMS client, a peer no one here wrote).
APT_PACKAGES+=(libxml2-utils xmlsec1 xml-security-c-utils)

setup_xml() {
  export KMS_XMLLINT=${KMS_XMLLINT:-$(command -v xmllint)}
  export KMS_XMLSEC1=${KMS_XMLSEC1:-$(command -v xmlsec1)}
  export KMS_XSEC_XKLIENT=${KMS_XSEC_XKLIENT:-$(command -v xsec-xklient)}
}
SETUPS+=(setup_xml)
