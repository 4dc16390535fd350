# ActiveSupport 7.0's KeyGenerator with `hash_digest_class: SHA256` (the
# `key_generator_hash_digest_class` default of `load_defaults 7.0`):
# OpenSSL::KDF.pbkdf2_hmac with that digest. 6.1's KeyGenerator is SHA1 only.
require "openssl"

class Sha256KeyGenerator
  def initialize(secret, iterations:)
    @secret = secret
    @iterations = iterations
  end

  def generate_key(salt, key_size = 64)
    OpenSSL::KDF.pbkdf2_hmac(@secret, salt: salt, iterations: @iterations,
                             length: key_size, hash: OpenSSL::Digest::SHA256.new)
  end
end
