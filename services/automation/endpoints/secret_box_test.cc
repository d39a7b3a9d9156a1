// SecretBox: sealing and opening, tampering, keys and key files.
#include "services/automation/endpoints/secret_box.h"

#include <fstream>
#include <string>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace touchline::automation {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw4zy7bbJTfc8=";
constexpr char kContext[] = "webhook_endpoint/acme/0f8e7d6c-0000-4000-8000-000000000001";

std::string Key(char fill) { return std::string(kSecretKeyBytes, fill); }

SecretBox Box(char fill) {
  absl::StatusOr<SecretBox> box = SecretBox::FromKey(Key(fill));
  EXPECT_TRUE(box.ok()) << box.status();
  return *box;
}

// A file in the test's temporary directory holding `contents`; its path.
std::string WriteFile(const std::string& name, const std::string& contents) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
  return path;
}

TEST(SecretBoxTest, OpensWhatItSealedAndHidesIt) {
  const SecretBox box = Box('k');
  const SealedSecret sealed = box.Seal(kSecret, kContext);
  EXPECT_EQ(sealed.key_id, box.key_id());
  EXPECT_THAT(sealed.box, Not(HasSubstr("whsec_")));
  EXPECT_THAT(sealed.box, Not(HasSubstr(std::string(kSecret).substr(6, 16))));
  absl::StatusOr<std::string> opened = box.Open(sealed, kContext);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, kSecret);
  // A fresh nonce every time: the same secret never seals to the same bytes.
  EXPECT_NE(box.Seal(kSecret, kContext).box, sealed.box);
}

TEST(SecretBoxTest, EveryAlteredByteFailsToOpen) {
  const SecretBox box = Box('k');
  const SealedSecret sealed = box.Seal(kSecret, kContext);
  for (size_t i = 0; i < sealed.box.size(); ++i) {
    SealedSecret altered = sealed;
    altered.box[i] = static_cast<char>(altered.box[i] ^ 0x01);
    EXPECT_EQ(box.Open(altered, kContext).status().code(), absl::StatusCode::kDataLoss)
        << "byte " << i;
  }
  SealedSecret cut = sealed;
  cut.box.resize(10);
  EXPECT_EQ(box.Open(cut, kContext).status().code(), absl::StatusCode::kDataLoss);
  cut.box.clear();
  EXPECT_EQ(box.Open(cut, kContext).status().code(), absl::StatusCode::kDataLoss);
}

TEST(SecretBoxTest, ASecretOpensOnlyForItsContext) {
  const SecretBox box = Box('k');
  const SealedSecret sealed = box.Seal(kSecret, kContext);
  EXPECT_EQ(box.Open(sealed, "webhook_endpoint/acme/another").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(box.Open(sealed, "").status().code(), absl::StatusCode::kDataLoss);
}

TEST(SecretBoxTest, AnotherKeyCannotOpen) {
  const SecretBox box = Box('k');
  const SecretBox other = Box('o');
  EXPECT_NE(box.key_id(), other.key_id());
  EXPECT_EQ(box.key_id(), Box('k').key_id());
  EXPECT_EQ(box.key_id().size(), 16u);
  const SealedSecret sealed = box.Seal(kSecret, kContext);
  const absl::Status wrong_id = other.Open(sealed, kContext).status();
  EXPECT_EQ(wrong_id.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(wrong_id.message(), HasSubstr(box.key_id()));
  // A box relabelled with the other key's id still does not open.
  SealedSecret relabelled = sealed;
  relabelled.key_id = other.key_id();
  EXPECT_EQ(other.Open(relabelled, kContext).status().code(), absl::StatusCode::kDataLoss);
}

TEST(SecretBoxTest, FromKeyNeedsThirtyTwoBytes) {
  EXPECT_EQ(SecretBox::FromKey(std::string(31, 'k')).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SecretBox::FromKey(std::string(33, 'k')).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SecretBoxTest, LoadsARawOrBase64KeyFile) {
  const std::string raw = Key('r');
  absl::StatusOr<SecretBox> from_raw = SecretBox::LoadKeyFile(WriteFile("raw.key", raw));
  ASSERT_TRUE(from_raw.ok()) << from_raw.status();
  EXPECT_EQ(from_raw->key_id(), Box('r').key_id());

  const std::string padded = absl::Base64Escape(raw);
  ASSERT_EQ(padded.back(), '=');
  for (const std::string& text :
       {padded + "\n", "  " + padded + "\r\n", padded.substr(0, padded.find('='))}) {
    absl::StatusOr<SecretBox> from_text = SecretBox::LoadKeyFile(WriteFile("text.key", text));
    ASSERT_TRUE(from_text.ok()) << from_text.status() << " for '" << text << "'";
    EXPECT_EQ(from_text->key_id(), from_raw->key_id());
    // The keys are the same: one opens what the other sealed.
    EXPECT_TRUE(from_raw->Open(from_text->Seal(kSecret, kContext), kContext).ok());
  }
}

TEST(SecretBoxTest, RefusesMissingAndWrongSizeKeyFiles) {
  EXPECT_EQ(SecretBox::LoadKeyFile("").status().code(), absl::StatusCode::kInvalidArgument);
  const std::string missing = ::testing::TempDir() + "/no-such.key";
  const absl::Status not_there = SecretBox::LoadKeyFile(missing).status();
  EXPECT_EQ(not_there.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(not_there.message(), HasSubstr(missing));
  EXPECT_EQ(SecretBox::LoadKeyFile(::testing::TempDir()).status().code(),
            absl::StatusCode::kFailedPrecondition);

  for (const std::string& contents :
       {std::string(), std::string(31, 'k'), std::string(33, 'k'), std::string(10000, 'k'),
        absl::Base64Escape(std::string(16, 'k')) + "\n",
        absl::Base64Escape(std::string(33, 'k')) + "\n", std::string("not base64 at all!\n")}) {
    const std::string path = WriteFile("bad.key", contents);
    const absl::Status refused = SecretBox::LoadKeyFile(path).status();
    EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument) << contents.size() << " bytes";
    EXPECT_THAT(refused.message(), HasSubstr("must hold 32 bytes"));
    EXPECT_THAT(refused.message(), HasSubstr(path));
  }
}

}  // namespace
}  // namespace touchline::automation
