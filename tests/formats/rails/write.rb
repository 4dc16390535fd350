# Writes Rails encrypted session cookies with ActionDispatch's own cookie
# store: for each case on stdin
#   {"cases": [{"secret": "<secret_key_base>", "digest": "sha1"|"sha256",
#               "name": "_app_session", "session": {...},
#               "expire_after"?: seconds (negative: already expired),
#               "serializer"?: "json"|"marshal"|"hybrid",
#               "metadata"?: false (use_cookies_with_metadata off, as under
#                            load_defaults 5.2: no purpose in the cookie)}]}
# a Rack app behind ActionDispatch::Cookies and
# ActionDispatch::Session::CookieStore sets the session, and the Set-Cookie
# it answers becomes one Cookie header on stdout ({"cookies": ["name=.."]}).
# The request env carries what Rails::Application#env_config sets for an
# app on `load_defaults 6.1` (or 7.0 for the sha256 key generator).
require "json"
require "openssl"
require "rack"
require "rack/mock"
require "active_support"
require "active_support/core_ext"
require "active_support/key_generator"
require "active_support/messages/rotation_configuration"
require "action_dispatch"
require "action_dispatch/middleware/cookies"
require "action_dispatch/middleware/session/cookie_store"

require_relative "sha256_key_generator"

def key_generator(secret, digest)
  # Rails::Application#key_generator: 1000 iterations, cached.
  generator =
    case digest
    when "sha1" then ActiveSupport::KeyGenerator.new(secret, iterations: 1000)
    when "sha256" then Sha256KeyGenerator.new(secret, iterations: 1000)
    else raise ArgumentError, "digest must be sha1 or sha256"
    end
  ActiveSupport::CachingKeyGenerator.new(generator)
end

def env_config(c)
  {
    "action_dispatch.secret_key_base" => c.fetch("secret"),
    "action_dispatch.key_generator" => key_generator(c.fetch("secret"), c.fetch("digest")),
    "action_dispatch.signed_cookie_salt" => "signed cookie",
    "action_dispatch.encrypted_cookie_salt" => "encrypted cookie",
    "action_dispatch.encrypted_signed_cookie_salt" => "signed encrypted cookie",
    "action_dispatch.authenticated_encrypted_cookie_salt" => "authenticated encrypted cookie",
    "action_dispatch.use_authenticated_cookie_encryption" => true,
    "action_dispatch.encrypted_cookie_cipher" => nil,
    "action_dispatch.signed_cookie_digest" => nil,
    "action_dispatch.cookies_serializer" => c.fetch("serializer", "json").to_sym,
    "action_dispatch.cookies_digest" => nil,
    "action_dispatch.cookies_rotations" => ActiveSupport::Messages::RotationConfiguration.new,
    "action_dispatch.cookies_same_site_protection" => proc { :lax },
    "action_dispatch.use_cookies_with_metadata" => c.fetch("metadata", true),
  }
end

def write(c)
  login = lambda do |env|
    session = env["rack.session"]
    c.fetch("session").each { |k, v| session[k] = v }
    [200, { "Content-Type" => "text/plain" }, ["ok"]]
  end
  options = { key: c.fetch("name", "_app_session") }
  options[:expire_after] = c["expire_after"] if c.key?("expire_after")
  app = ActionDispatch::Cookies.new(ActionDispatch::Session::CookieStore.new(login, options))
  env = Rack::MockRequest.env_for("http://app.test/login").merge(env_config(c))
  _status, headers, _body = app.call(env)
  set_cookie = headers.fetch("Set-Cookie")
  set_cookie.split("\n").map { |line| line.split(";").first }.join("; ")
end

input = JSON.parse($stdin.read)
puts JSON.generate({ cookies: input.fetch("cases").map { |c| write(c) } })
